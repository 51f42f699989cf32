// Real aiocqhttp (the SDK under HoshinoBot and LangBot) through the relay, with CQHttp(...) arguments as operators
// give them: reverse WS on its universal /ws/, and HTTP POST to / with the HTTP API as api_root. Its bot answers a
// group "ping" with bot.send(..., self_id=...) (HoshinoBot's way: self_id inside the params), and "quick" with a
// quick operation, which over reverse WS it calls as .handle_quick_operation_async.
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation, GROUP } from './fake-impl.ts';
import {
  assertApiCall,
  assertHeartbeat,
  assertLifecycle,
  FRAMEWORK,
  httpRelay,
  pingPong,
  SECRET,
  sendsOf,
  TOKEN,
} from './framework-kit.ts';
import { HeaderTap } from './header-tap.ts';
import { freePort, startTestRelay, type TestRelay, waitFor } from './helpers.ts';
import { frameworkPython, PythonBot } from './python-bot.ts';

/** "quick" in the group: the bot's quick operation reaches the implementation as .handle_quick_operation, once. */
async function quickReply(fake: FakeImplementation, bot: PythonBot): Promise<void> {
  const messageId = fake.say('quick');
  await waitFor(() => fake.calls.some((c) => c.action === '.handle_quick_operation'), 'the quick operation', 10_000);
  const quick = fake.calls.filter((c) => c.action === '.handle_quick_operation');
  assert.equal(quick.length, 1);
  const { context, operation } = quick[0]!.params as { context: Record<string, unknown>; operation: Record<string, unknown> };
  assert.deepEqual(operation, { reply: `quick pong from ${bot.name}` });
  assert.equal(context.message_id, messageId);
  assert.equal(context.group_id, GROUP);
}

/** Each pong went out with the account in its params, as HoshinoBot sends it. */
function assertSelfIdInParams(fake: FakeImplementation, bot: PythonBot): void {
  const pongs = sendsOf(fake, `pong from ${bot.name}`);
  assert.ok(pongs.length > 0);
  for (const pong of pongs) assert.equal(pong.params.self_id, fake.selfId);
}

describe('aiocqhttp through the relay', { timeout: 60_000 }, () => {
  // Without the frameworks, every test fails here with why, before anything is opened.
  before(() => void frameworkPython());

  it('over reverse WS (universal /ws/): lifecycle, heartbeats, ping and quick operation; a reload answers its waiting call and it keeps working', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const bot = PythonBot.aiocqhttp('aio-reverse', port, { ACCESS_TOKEN: TOKEN });
    // The relay dials it through a tap that sees when each of its sockets opens and closes.
    const tap = await HeaderTap.start(port);
    const url = `ws://127.0.0.1:${tap.port}/ws/`;
    let relay: TestRelay | undefined;
    try {
      relay = await startTestRelay(fake.url, { ...FRAMEWORK, reverse: [url], token: TOKEN });
      await assertLifecycle(bot, fake);
      await assertHeartbeat(bot, fake);
      await pingPong(fake, bot);
      assertSelfIdInParams(fake, bot);
      await quickReply(fake, bot);

      // A reload that restarts its endpoint closes the socket with a call still waiting: the call fails at once (not
      // after aiocqhttp's 60 s), and the new socket works, so the old one was gone before it was dialled (aiocqhttp
      // forgets the account when any socket of it closes).
      fake.unanswered.add('send_msg');
      fake.say('ping');
      await waitFor(() => sendsOf(fake, `pong from ${bot.name}`).length === 2, 'the unanswered pong upstream');
      relay.settings.reverse = [{ url, heartbeat: FRAMEWORK.heartbeat! + 1 }];
      const reloaded = Date.now();
      assert.equal(await relay.relay.reload(), true);
      const failed = await bot.next('failed');
      assert.ok(Date.now() - reloaded < 5000, 'failed at once');
      assert.equal(failed.error, 'ActionFailed');
      assert.equal(failed.retcode, RelayRetcode.outcomeUnknown);
      assert.match(failed.message, /the relay closed this connection/);
      fake.unanswered.delete('send_msg');
      await assertLifecycle(bot, fake, 'connect', 1);
      await pingPong(fake, bot);
      const [old, replacement] = tap.connections.slice(-2);
      assert.ok(old!.closed! <= replacement!.opened, 'the old socket was closed before its replacement was dialled');
    } finally {
      await relay?.stop();
      await tap.stop();
      await bot.stop();
      await fake.stop();
    }
  });

  it('over HTTP POST + HTTP API (api_root): the same, and its calls carry no Origin', async (t: TestContext) => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const { relay, tap, apiRoot } = await httpRelay(fake, `http://127.0.0.1:${port}/`);
    const bot = PythonBot.aiocqhttp('aio-http', port, { API_ROOT: apiRoot, ACCESS_TOKEN: TOKEN, SECRET });
    try {
      await assertLifecycle(bot, fake, 'enable');
      await assertHeartbeat(bot, fake);
      await pingPong(fake, bot);
      assertSelfIdInParams(fake, bot);
      await quickReply(fake, bot);
      assertApiCall(tap, t, 'aiocqhttp (httpx)');
    } finally {
      await bot.stop();
      await tap.stop();
      await relay.stop();
      await fake.stop();
    }
  });
});
