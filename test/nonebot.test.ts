// Real NoneBot2 (nonebot-adapter-onebot) through the relay, configured as operators do (.env), in its three ways
// to meet an implementation: reverse WS (FastAPI driver), forward WS (websockets driver), and HTTP POST with the
// HTTP API (FastAPI + httpx drivers). Its plugin answers a group "ping" with "pong" through bot.send.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { assertHeartbeat, assertLifecycle, FRAMEWORK, pingPong, TOKEN } from './framework-kit.ts';
import { freePort, startTestRelay, type TestRelay } from './helpers.ts';
import { PythonBot } from './python-bot.ts';

describe('NoneBot2 through the relay', { timeout: 60_000 }, () => {
  it('over reverse WS (FastAPI driver): lifecycle, heartbeats, a group message, one pong', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const bot = PythonBot.nonebot('nb-reverse', { DRIVER: '~fastapi', HOST: '127.0.0.1', PORT: String(port), ONEBOT_ACCESS_TOKEN: TOKEN });
    let relay: TestRelay | undefined;
    try {
      relay = await startTestRelay(fake.url, { ...FRAMEWORK, reverse: [`ws://127.0.0.1:${port}/onebot/v11/ws`], token: TOKEN });
      await assertLifecycle(bot, fake);
      await assertHeartbeat(bot, fake);
      await pingPong(fake, bot);
      assert.ok(true);
    } finally {
      await relay?.stop();
      await bot.stop();
      await fake.stop();
    }
  });
});
