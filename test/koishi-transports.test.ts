// Real Koishi (koishi-plugin-adapter-onebot 6) through the relay in its two server-side modes:
//  - `ws-reverse`: Koishi serves /onebot and the relay dials it as the implementation would;
//  - `http`: the relay POSTs signed events to Koishi, and Koishi calls the relay's HTTP API with a token.
// Each must receive an upstream message event and get its send_group_msg through to the implementation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpApiAdapter } from '../src/downstream/http-api.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, type TestRelay, waitFor } from './helpers.ts';
import {
  addBot,
  assertReplySent,
  assertSession,
  botOnline,
  groupMessage,
  loginCalls,
  PATH,
  RESPONSE_TIMEOUT,
  type ServingApp,
  servingApp,
  stopApp,
} from './koishi-kit.ts';

describe('koishi (adapter-onebot 6, ws-reverse: the relay dials Koishi)', { timeout: 30_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay | undefined;
  let app: ServingApp | undefined;
  let online = false;

  before(async () => {
    fake = await FakeImplementation.start();
    // Koishi first, so that the relay's first dial finds it listening.
    app = await servingApp();
    addBot(app, { selfId: String(fake.selfId), protocol: 'ws-reverse', responseTimeout: RESPONSE_TIMEOUT });
    // A token too: the relay sends it as a Bearer header, which Koishi ignores in this mode.
    relay = await startTestRelay(fake.url, { reverse: [`ws://127.0.0.1:${app.port}${PATH}`], token: 'relay-token' });
  });

  after(async () => {
    await relay?.stop();
    await stopApp(app);
    await fake?.stop();
  });

  it('accepts the relay (X-Client-Role Universal, X-Self-ID), calls get_login_info through it and comes online', async () => {
    const bot = await botOnline(app!, fake.selfId);
    // Koishi goes online only once its get_login_info, sent on the accepted socket, is answered: by the fake.
    assert.equal(bot.user.name, 'fake-bot');
    assert.ok(loginCalls(fake) >= 2, "the relay's own get_login_info and Koishi's reached the implementation");
    await waitFor(
      () =>
        relay!.logs.some((l) => l.includes(`connected to reverse target ws://127.0.0.1:${app!.port}${PATH} (Universal, ${fake.selfId})`)),
      'the connected line',
    );
    assert.ok(!relay!.logs.some((l) => l.includes('closed: code 1008')), 'Koishi never refused the socket');
    assert.equal(relay!.relay.hub.health().clients, 1, 'the relay counts its socket to Koishi as a client');
    online = true;
  });

  it('delivers an upstream group message to a Koishi message handler and carries the reply back as send_group_msg', async () => {
    assert.ok(online, 'Koishi came online');
    fake.broadcast(groupMessage(fake.selfId, 4242, 'ping 你好 reverse'));
    await waitFor(() => app!.received.length === 1, 'Koishi to receive the message', 5000);
    assertSession(app!.received[0]!, fake.selfId, 4242, 'ping 你好 reverse');
    await assertReplySent(app!, fake);
  });
});

describe('koishi (adapter-onebot 6, http: signed event POSTs and HTTP API calls with a token)', { timeout: 30_000 }, () => {
  const TOKEN = 'api-token';
  const SECRET = 'post-secret';
  let fake: FakeImplementation;
  let relay: TestRelay | undefined;
  let app: ServingApp | undefined;
  let relayLogins = 0;

  before(async () => {
    fake = await FakeImplementation.start();
    // Koishi's server (and the body workaround's route) first, so that the relay posts to the port it really got.
    app = await servingApp(true);
    const target = `http://127.0.0.1:${app.port}${PATH}`;
    relay = await startTestRelay(fake.url, {
      http: ['127.0.0.1:0'],
      token: TOKEN,
      post: [
        { url: target, secret: SECRET },
        // Two more targets at the same route (Koa routes by path; the query only names them in the relay's logs).
        { url: `${target}?target=wrong-secret`, secret: 'not-the-secret' },
        { url: `${target}?target=unsigned`, secret: '' },
      ],
    });
    // Koishi asks get_login_info once when it starts and never again: it must find the relay identified.
    await waitFor(() => relay!.relay.hub.health().nickname !== null, 'the relay to finish its own get_login_info');
    relayLogins = loginCalls(fake);
  });

  after(async () => {
    await relay?.stop();
    await stopApp(app);
    await fake?.stop();
  });

  it('calls get_login_info on the HTTP API with its Token header and comes online', async () => {
    const api = relay!.relay.adapters.find((a) => a instanceof HttpApiAdapter)!;
    // Only now the bot: it calls get_login_info as it starts, once.
    addBot(app!, { selfId: String(fake.selfId), protocol: 'http', endpoint: `http://${api.listener.url}`, token: TOKEN, secret: SECRET });
    const bot = await botOnline(app!, fake.selfId);
    assert.equal(bot.user.name, 'fake-bot');
    assert.equal(loginCalls(fake), relayLogins + 1, "Koishi's own get_login_info reached the implementation");
  });

  it('takes the correctly signed POST to a Koishi message handler, refuses the wrong and missing signatures', async () => {
    assert.ok(app, 'Koishi started');
    fake.broadcast(groupMessage(fake.selfId, 4343, 'ping 你好 http'));
    await waitFor(() => app!.received.length === 1, 'Koishi to receive the message', 5000);
    assertSession(app!.received[0]!, fake.selfId, 4343, 'ping 你好 http');
    const warned = (target: string, status: number) =>
      relay!.logs.some(
        (l) =>
          / WARN /.test(l) &&
          l.includes(
            `HTTP POST to http://127.0.0.1:${app!.port}${PATH}?target=${target} (account ${fake.selfId}): answered HTTP ${status}`,
          ),
      );
    await waitFor(() => warned('wrong-secret', 403) && warned('unsigned', 401), 'the relay to log the refused POSTs', 5000);
    // The signed target got 204 (no warning), and the refused copies never reached a handler.
    assert.ok(!relay!.logs.some((l) => l.includes(`${PATH}: answered HTTP`)), 'the correctly signed POST was accepted');
    assert.equal(app!.received.length, 1);
  });

  it("carries the handler's reply through the HTTP API to the implementation as send_group_msg", async () => {
    await assertReplySent(app!, fake);
    // The handler ran once: one reply.
    assert.equal(app!.sendResults.length, 1);
  });
});
