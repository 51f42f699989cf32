// A real third-party client through the relay: Koishi with koishi-plugin-adapter-onebot in forward `ws` mode,
// dialling the relay's WS server with a token. It must come online, receive an upstream event, and get a send through.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, waitFor, type TestRelay } from './helpers.ts';

// Just the parts of Koishi this test touches (its own typings do not fit a plain `ctx.plugin(OneBot, config)` call).
interface KoishiSession {
  platform: string;
  selfId: string;
  type: string;
  userId?: string;
  guildId?: string;
  channelId?: string;
  messageId?: string;
  content?: string;
  send(content: string): Promise<string[]>;
}
interface KoishiBot {
  platform: string;
  selfId: string;
  status: number;
  error?: unknown;
}
interface KoishiFork {
  dispose(): unknown;
}
interface KoishiContext {
  bots: KoishiBot[];
  plugin(plugin: unknown, config?: object): KoishiFork;
  on(event: 'message', listener: (session: KoishiSession) => void): () => boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}
interface KoishiModule {
  Context: new () => KoishiContext;
  Universal: { Status: { OFFLINE: number; ONLINE: number } };
}

// Koishi's ESM entry does not load under plain node; its CommonJS entry does.
const require = createRequire(import.meta.url);
const koishi = require('koishi') as KoishiModule;
const HTTP = (require('@koishijs/plugin-http') as { default: unknown }).default;
const OneBot = (require('koishi-plugin-adapter-onebot') as { default: unknown }).default;

const TOKEN = 'secret';
const GROUP = 987654;
const SENDER = 246810;

/** A Koishi app with only the HTTP service and one OneBot bot dialling `endpoint`. */
function koishiApp(selfId: number, endpoint: string, token: string): { ctx: KoishiContext; bot: KoishiFork } {
  const ctx = new koishi.Context();
  ctx.plugin(HTTP);
  const bot = ctx.plugin(OneBot, {
    selfId: String(selfId),
    protocol: 'ws',
    endpoint,
    token,
    // Its reply timers are never cleared, so each call holds the event loop this long; keep it above the relay's
    // call timeout (2 s in tests) and short enough that the process exits soon after the last call.
    responseTimeout: 3000,
    // No retry timer on a failed first dial: the app goes offline at once.
    retryTimes: 0,
  });
  return { ctx, bot };
}

/** Dispose the bot first: a bare ctx.stop() throws inside the bot's dispose (ctx.bots is already gone). */
async function stopApp(app: { ctx: KoishiContext; bot: KoishiFork } | undefined): Promise<void> {
  if (!app) return;
  await app.bot.dispose();
  await app.ctx.stop();
}

function groupMessage(selfId: number, messageId: number, text: string): string {
  return JSON.stringify({
    time: Math.floor(Date.now() / 1000),
    self_id: selfId,
    post_type: 'message',
    message_type: 'group',
    sub_type: 'normal',
    message_id: messageId,
    group_id: GROUP,
    user_id: SENDER,
    message: [{ type: 'text', data: { text } }],
    raw_message: text,
    font: 0,
    sender: { user_id: SENDER, nickname: 'tester', card: '', role: 'member' },
  });
}

const loginCalls = (fake: FakeImplementation) => fake.calls.filter((c) => c.action === 'get_login_info').length;

describe('koishi (adapter-onebot 6, forward ws with a token)', { timeout: 30_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;
  let app: { ctx: KoishiContext; bot: KoishiFork } | undefined;
  let intruder: { ctx: KoishiContext; bot: KoishiFork } | undefined;
  const received: KoishiSession[] = [];
  const sendResults: (string[] | Error)[] = [];
  /** get_login_info calls the fake had answered (the relay's own) before Koishi dialled. */
  let relayLogins = 0;

  before(async () => {
    fake = await FakeImplementation.start();
    relay = await startTestRelay(fake.url, { token: TOKEN });
    // The relay asks get_login_info itself on link-up; wait for its answer so Koishi's call can be told apart.
    await waitFor(() => relay.relay.hub.nickname !== undefined, 'the relay to finish its own get_login_info');
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
    app.ctx.on('message', (session) => {
      received.push(session);
      if (session.content?.startsWith('ping')) {
        session.send(`pong to ${session.userId}: 你好`).then(
          (ids) => sendResults.push(ids),
          (error: unknown) => sendResults.push(error instanceof Error ? error : new Error(String(error))),
        );
      }
    });
    await app.ctx.start();
    const { ctx } = app;
    await waitFor(() => ctx.bots.some((b) => b.status === koishi.Universal.Status.ONLINE), 'the Koishi bot to come online', 10_000);
    const bot = ctx.bots[0]!;
    assert.equal(bot.platform, 'onebot');
    assert.equal(bot.selfId, String(fake.selfId));
    assert.equal(loginCalls(fake), relayLogins + 1, "Koishi's own get_login_info reached the implementation");
    assert.equal(relay.relay.hub.health().clients, 1, 'the relay counts Koishi as a client');
  });

  it('delivers an upstream group message to a Koishi message handler', async () => {
    fake.broadcast(groupMessage(fake.selfId, 4242, 'ping 你好 relay'));
    await waitFor(() => received.length === 1, 'Koishi to receive the message', 5000);
    const session = received[0]!;
    assert.equal(session.type, 'message-created', "Koishi's canonical name for 'message'");
    assert.equal(session.platform, 'onebot');
    assert.equal(session.selfId, String(fake.selfId));
    assert.equal(session.content, 'ping 你好 relay');
    assert.equal(session.guildId, String(GROUP));
    assert.equal(session.channelId, String(GROUP));
    assert.equal(session.userId, String(SENDER));
    assert.equal(session.messageId, '4242');
  });

  it("carries the handler's reply to the implementation as send_group_msg", async () => {
    await waitFor(() => sendResults.length === 1, "Koishi's session.send to settle", 5000);
    const result = sendResults[0]!;
    if (result instanceof Error) throw result;
    const sends = fake.calls.filter((c) => c.action === 'send_group_msg');
    assert.equal(sends.length, 1);
    const { params } = sends[0]!;
    assert.equal(params.group_id, GROUP);
    assert.deepEqual(params.message, [{ type: 'text', data: { text: `pong to ${SENDER}: 你好` } }]);
    // The fake numbers its replies from 1001: the id came back through the relay to Koishi.
    assert.deepEqual(result, ['1001']);
  });

  it('keeps a Koishi with the wrong token out', async () => {
    const callsBefore = fake.calls.length;
    intruder = koishiApp(fake.selfId, relay.wsUrl, 'wrong');
    await intruder.ctx.start();
    const { ctx } = intruder;
    await waitFor(() => ctx.bots[0]?.status === koishi.Universal.Status.OFFLINE && ctx.bots[0]?.error !== undefined, 'the refused bot to go offline', 10_000);
    assert.equal(fake.calls.length, callsBefore, 'nothing from the refused client reached the implementation');
    assert.equal(relay.relay.hub.health().clients, 1);
  });
});
