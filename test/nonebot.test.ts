// Real NoneBot2 (nonebot-adapter-onebot) through the relay, configured as operators do (.env), in its three ways
// to meet an implementation: reverse WS (FastAPI driver), forward WS (websockets driver), and HTTP POST with the
// HTTP API (FastAPI + httpx drivers). Its plugin answers a group "ping" with "pong" through bot.send.
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation, GROUP, textMessage } from './fake-impl.ts';
import {
  assertApiCall,
  assertHeartbeat,
  assertLifecycle,
  FRAMEWORK,
  httpRelay,
  messageText,
  pingPong,
  SECRET,
  sendsOf,
  TOKEN,
} from './framework-kit.ts';
import { HeaderTap } from './header-tap.ts';
import { freePort, startTestRelay, type TestRelay, waitFor } from './helpers.ts';
import { frameworkPython, PythonBot } from './python-bot.ts';

describe('NoneBot2 through the relay', { timeout: 60_000 }, () => {
  // Without the frameworks, every test fails here with why, before anything is opened.
  before(() => void frameworkPython());

  it('over reverse WS (FastAPI driver): lifecycle, heartbeats, a group message, one pong; at shutdown its waiting call fails at once', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const bot = PythonBot.nonebot('nb-reverse', { DRIVER: '~fastapi', HOST: '127.0.0.1', PORT: String(port), ONEBOT_ACCESS_TOKEN: TOKEN });
    let relay: TestRelay | undefined;
    try {
      relay = await startTestRelay(fake.url, { ...FRAMEWORK, reverse: [`ws://127.0.0.1:${port}/onebot/v11/ws`], token: TOKEN });
      await assertLifecycle(bot, fake);
      await assertHeartbeat(bot, fake);
      await pingPong(fake, bot);

      // A pong the implementation never answers: the relay's shutdown answers it, not NoneBot's 30 s timeout.
      fake.unanswered.add('send_msg');
      fake.say('ping');
      await waitFor(() => sendsOf(fake, `pong from ${bot.name}`).length === 2, 'the unanswered pong upstream');
      const stopped = Date.now();
      await relay.stop();
      const failed = await bot.next('failed');
      assert.ok(Date.now() - stopped < 5000, 'failed at once');
      assert.equal(failed.error, 'ActionFailed');
      assert.equal(failed.retcode, RelayRetcode.outcomeUnknown);
      assert.match(failed.message, /the relay closed this connection \(relay shutting down\) before "send_msg" was answered/);
      await assertLifecycle(bot, fake, 'disable');
    } finally {
      await relay?.stop();
      await bot.stop();
      await fake.stop();
    }
  });

  it('a plugin flooding 30 sends at once to a group: all delivered, at the send limit, answered within its API timeout', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const bot = PythonBot.nonebot('nb-flood', {
      DRIVER: '~fastapi',
      HOST: '127.0.0.1',
      PORT: String(port),
      ONEBOT_ACCESS_TOKEN: TOKEN,
      API_TIMEOUT: '10',
    });
    let relay: TestRelay | undefined;
    try {
      relay = await startTestRelay(fake.url, {
        ...FRAMEWORK,
        reverse: [`ws://127.0.0.1:${port}/onebot/v11/ws`],
        token: TOKEN,
        callTimeout: 9000,
        sendLimit: { account: 'off', group: '5/1s' },
      });
      await assertLifecycle(bot, fake);
      fake.say('flood 30');
      const flooded = await bot.next('flooded', { timeout: 20_000 });
      assert.deepEqual(flooded.failures, [], 'no ActionFailed, no NetworkError (timeout)');
      assert.equal(flooded.sent, 30);
      const sends = fake.calls.filter((c) => c.action.startsWith('send_') && messageText(c.params.message).startsWith('flood '));
      assert.equal(sends.length, 30, 'each reached the implementation once');
      const times = sends.map((c) => c.at!).sort((a, b) => a - b);
      for (let i = 0; i + 5 < times.length; i++) assert.ok(times[i + 5]! - times[i]! >= 960, `no 6 sends within a second (${i})`);
      assert.ok(times.at(-1)! - times[0]! >= 4 * 960, 'paced over five seconds, not sent in a burst');
    } finally {
      await relay?.stop();
      await bot.stop();
      await fake.stop();
    }
  });

  it('over forward WS (ONEBOT_WS_URLS, websockets driver, named with ?client=): the same, and its handshake carries no Origin', async (t: TestContext) => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { ...FRAMEWORK, token: TOKEN });
    const tap = await HeaderTap.start(Number(new URL(relay.wsUrl).port));
    const bot = PythonBot.nonebot('nb-forward', {
      DRIVER: '~websockets',
      ONEBOT_WS_URLS: `["ws://127.0.0.1:${tap.port}/?client=nonebot"]`,
      ONEBOT_ACCESS_TOKEN: TOKEN,
    });
    try {
      await assertLifecycle(bot, fake);
      await assertHeartbeat(bot, fake);
      await pingPong(fake, bot);
      const [handshake] = tap.requests;
      assert.equal(handshake!.line, 'GET /?client=nonebot HTTP/1.1', 'named, so that the relay keeps its events while it is away');
      assert.equal(handshake!.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(handshake!.headers.upgrade?.toLowerCase(), 'websocket');
      assert.equal(handshake!.headers.origin, undefined, 'no Origin header');
      t.diagnostic(`NoneBot websockets driver handshake headers: ${JSON.stringify(handshake!.headers)}`);
    } finally {
      await bot.stop();
      await tap.stop();
      await relay.stop();
      await fake.stop();
    }
  });

  it("over HTTP POST + HTTP API (ONEBOT_API_ROOTS, FastAPI + httpx drivers): the same, its calls carry no Origin, and ActionFailed shows the relay's retcode", async (t: TestContext) => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const { relay, tap, apiRoot } = await httpRelay(fake, `http://127.0.0.1:${port}/onebot/v11/http`);
    const bot = PythonBot.nonebot('nb-http', {
      DRIVER: '~fastapi+~httpx',
      HOST: '127.0.0.1',
      PORT: String(port),
      ONEBOT_API_ROOTS: `{"${fake.selfId}": "${apiRoot}"}`,
      ONEBOT_ACCESS_TOKEN: TOKEN,
      ONEBOT_SECRET: SECRET,
    });
    try {
      await assertLifecycle(bot, fake, 'enable');
      await assertHeartbeat(bot, fake);
      await pingPong(fake, bot);
      assertApiCall(tap, t, 'NoneBot httpx driver');

      // The relay answers its own failures with HTTP 200 and its retcode: NoneBot would lose both to a non-2xx.
      fake.unanswered.add('send_msg');
      const failedBefore = bot.seen('failed').length;
      fake.say('ping');
      const failed = await bot.next('failed', { from: failedBefore });
      assert.equal(failed.error, 'ActionFailed');
      assert.equal(failed.retcode, 1504);
      assert.match(failed.message, /did not answer "send_msg" within 2000 ms/);
    } finally {
      await bot.stop();
      await tap.stop();
      await relay.stop();
      await fake.stop();
    }
  });

  it('a reverse socket NoneBot refuses ("Duplicate X-Self-ID": its bot for the account is connected) is one warning and retried until let in', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/onebot/v11/ws`;
    const bot = PythonBot.nonebot('nb-duplicate', {
      DRIVER: '~fastapi',
      HOST: '127.0.0.1',
      PORT: String(port),
      ONEBOT_ACCESS_TOKEN: TOKEN,
    });
    let squatter: WebSocket | undefined;
    let relay: TestRelay | undefined;
    try {
      // Another socket for the same account, as a relay's previous socket that NoneBot has not yet seen close.
      squatter = await openWhenListening(url, { 'X-Self-ID': String(fake.selfId), Authorization: `Bearer ${TOKEN}` });
      relay = await startTestRelay(fake.url, { ...FRAMEWORK, reverse: [url], token: TOKEN });
      const logs = relay.logs;
      await waitFor(() => logs.filter((l) => /attempt \d+ to reach reverse target/.test(l)).length >= 3, 'refused attempts', 10_000);
      const warnings = logs.filter((l) => / WARN /.test(l) && l.includes(url));
      assert.equal(warnings.length, 1, `one warning for the series: ${warnings.join('\n')}`);
      assert.match(
        warnings[0]!,
        /cannot reach reverse target .*: handshake rejected with HTTP 403 \(a wrong token, or NoneBot's "Duplicate X-Self-ID"/,
      );
      assert.equal(bot.seen('lifecycle').length, 0);
      squatter.close(); // NoneBot lets go of its bot: the next attempt is let in
      await assertLifecycle(bot, fake);
      await pingPong(fake, bot);
      assert.ok(logs.some((l) => /reverse target .* reachable again after \d+ failed attempt/.test(l)));
    } finally {
      squatter?.terminate();
      await relay?.stop();
      await bot.stop();
      await fake.stop();
    }
  });

  it('with two accounts in one group and groupDedupe: answers each ping once, as the primary; the other account once the primary is gone', async () => {
    const a = await FakeImplementation.start({ selfId: 10001 });
    const b = await FakeImplementation.start({ selfId: 10002 });
    const port = await freePort();
    const bot = PythonBot.nonebot('nb-two', { DRIVER: '~fastapi', HOST: '127.0.0.1', PORT: String(port), ONEBOT_ACCESS_TOKEN: TOKEN });
    let relay: TestRelay | undefined;
    /** The same group "ping" as each account's implementation reports it: the group's seq, its own message_id. */
    const ping = (fake: FakeImplementation, seq: number) =>
      fake.broadcast(textMessage(fake.selfId, fake.selfId * 10 + seq, 'ping').replace('"font":0', `"font":0,"message_seq":${seq}`));
    const pongs = (fake: FakeImplementation) => sendsOf(fake, 'pong from nb-two').length;
    try {
      relay = await startTestRelay(undefined, {
        ...FRAMEWORK,
        upstreams: [a.url, b.url],
        groupDedupe: true,
        reverse: [`ws://127.0.0.1:${port}/onebot/v11/ws`],
        token: TOKEN,
      });
      await waitFor(() => bot.seen('lifecycle').length >= 2, 'a NoneBot bot for each account', 20_000);
      await waitFor(
        () => relay!.relay.hub.groupPrimaries().some((g) => g.group_id === GROUP && g.accounts.length === 2),
        'both accounts listed in the group',
      );
      for (const seq of [1, 2]) {
        ping(b, seq); // the second account may well report first
        ping(a, seq);
        await bot.next('sent', { from: seq - 1 });
      }
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual([pongs(a), pongs(b)], [2, 0], 'each ping answered once, as the first account');
      assert.deepEqual(
        bot.seen('message').map((m) => m.message_id),
        [100011, 100012],
      );

      await a.kill();
      ping(b, 3);
      await bot.next('sent', { from: 2 });
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual([pongs(a), pongs(b)], [2, 1], 'the second account answers once the first is gone');
    } finally {
      await relay?.stop();
      await bot.stop();
      await a.stop();
      await b.stop();
    }
  });
});

/** A WebSocket to `url` once something listens there (a framework still starting). */
async function openWhenListening(url: string, headers: Record<string, string>, timeout = 15_000): Promise<WebSocket> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ws = new WebSocket(url, { headers });
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    if (opened) return ws;
    if (Date.now() > deadline) throw new Error(`nothing accepted a WebSocket at ${url} within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
