// A real third-party client through the relay: Koishi with koishi-plugin-adapter-onebot in forward `ws` mode,
// dialling the relay's WS server with a token. It must come online, receive an upstream event, and get a send through.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, type TestRelay, waitFor } from './helpers.ts';
import {
  answerPings,
  assertReplySent,
  assertSession,
  botOnline,
  groupMessage,
  HTTP,
  type KoishiApp,
  koishi,
  loginCalls,
  OneBot,
  RESPONSE_TIMEOUT,
  stopApp,
} from './koishi-kit.ts';

const TOKEN = 'secret';

/** A Koishi app with only the HTTP service and one OneBot bot dialling `endpoint`. */
function koishiApp(selfId: number, endpoint: string, token: string): KoishiApp {
  const ctx = new koishi.Context();
  const http = ctx.plugin(HTTP);
  const bot = ctx.plugin(OneBot, {
    selfId: String(selfId),
    protocol: 'ws',
    endpoint,
    token,
    responseTimeout: RESPONSE_TIMEOUT,
    // No retry timer on a failed first dial: the app goes offline at once.
    retryTimes: 0,
  });
  return { ctx, forks: [http, bot], received: [], sendResults: [] };
}

describe('koishi (adapter-onebot 6, forward ws with a token)', { timeout: 30_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;
  let app: KoishiApp | undefined;
  let intruder: KoishiApp | undefined;
  /** get_login_info calls the fake had answered (the relay's own) before Koishi dialled. */
  let relayLogins = 0;

  before(async () => {
    fake = await FakeImplementation.start();
    relay = await startTestRelay(fake.url, { token: TOKEN });
    // The relay asks get_login_info itself on link-up; wait for its answer so Koishi's call can be told apart.
    await waitFor(() => relay.relay.hub.health().nickname !== null, 'the relay to finish its own get_login_info');
    relayLogins = loginCalls(fake);
  });

  after(async () => {
    // The relay first, as an operator stops it: Koishi still runs to take its lifecycle disable and close.
    await relay?.stop();
    await stopApp(intruder);
    await stopApp(app);
    await fake?.stop();
  });

  it('connects with the token, calls get_login_info through the relay and comes online', async () => {
    app = koishiApp(fake.selfId, relay.wsUrl, TOKEN);
    answerPings(app);
    await app.ctx.start();
    await botOnline(app, fake.selfId);
    assert.equal(loginCalls(fake), relayLogins + 1, "Koishi's own get_login_info reached the implementation");
    assert.equal(relay.relay.hub.health().clients, 1, 'the relay counts Koishi as a client');
  });

  it('delivers an upstream group message to a Koishi message handler', async () => {
    fake.broadcast(groupMessage(fake.selfId, 4242, 'ping 你好 relay'));
    await waitFor(() => app!.received.length === 1, 'Koishi to receive the message', 5000);
    assertSession(app!.received[0]!, fake.selfId, 4242, 'ping 你好 relay');
  });

  it("carries the handler's reply to the implementation as send_group_msg", async () => {
    await assertReplySent(app!, fake);
  });

  it('keeps a Koishi with the wrong token out', async () => {
    const callsBefore = fake.calls.length;
    intruder = koishiApp(fake.selfId, relay.wsUrl, 'wrong');
    await intruder.ctx.start();
    const { ctx } = intruder;
    await waitFor(
      () => ctx.bots[0]?.status === koishi.Universal.Status.OFFLINE && ctx.bots[0]?.error !== undefined,
      'the refused bot to go offline',
      10_000,
    );
    assert.equal(fake.calls.length, callsBefore, 'nothing from the refused client reached the implementation');
    assert.equal(relay.relay.hub.health().clients, 1);
  });
});
