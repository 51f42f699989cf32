// Real frameworks through one relay with two accounts, each served to them over reverse WS the way they already
// handle several bots (one socket per account, keyed by X-Self-ID): NoneBot2 and aiocqhttp each see two bots and
// answer a ping on each from the right account; Koishi runs two `selfId` bots in ws-reverse mode.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeImplementation, GROUP, SENDER } from './fake-impl.ts';
import { assertHeartbeat, assertLifecycle, FRAMEWORK, pingPong, TOKEN } from './framework-kit.ts';
import { freePort, startTestRelay, type TestRelay, waitFor } from './helpers.ts';
import { addBot, groupMessage, koishi, PATH, RESPONSE_TIMEOUT, type ServingApp, servingApp, stopApp } from './koishi-kit.ts';
import { frameworkPython, PythonBot } from './python-bot.ts';

describe('two accounts through one relay to real frameworks over reverse WS', { timeout: 60_000 }, () => {
  let accounts: FakeImplementation[] = [];
  let nonebot: PythonBot | undefined;
  let aiocqhttp: PythonBot | undefined;
  let app: ServingApp | undefined;
  let relay: TestRelay | undefined;

  before(async () => {
    frameworkPython(); // without the frameworks, fail here with why, before anything is opened
    // Each numbers its replies' message_ids from its own base: a reply crossed to the other account would show.
    accounts = [
      await FakeImplementation.start({ selfId: 10001, firstMessageId: 1001 }),
      await FakeImplementation.start({ selfId: 20002, firstMessageId: 2001 }),
    ];
    const nonebotPort = await freePort();
    nonebot = PythonBot.nonebot('nb-two', { DRIVER: '~fastapi', HOST: '127.0.0.1', PORT: String(nonebotPort), ONEBOT_ACCESS_TOKEN: TOKEN });
    const aiocqhttpPort = await freePort();
    aiocqhttp = PythonBot.aiocqhttp('aio-two', aiocqhttpPort, { ACCESS_TOKEN: TOKEN });
    app = await servingApp();
    for (const fake of accounts) addBot(app, { selfId: String(fake.selfId), protocol: 'ws-reverse', responseTimeout: RESPONSE_TIMEOUT });
    // The relay dials each until it listens (the Python ones take a few seconds to start).
    relay = await startTestRelay(undefined, {
      ...FRAMEWORK,
      upstreams: accounts.map((fake) => fake.url),
      reverse: [`ws://127.0.0.1:${nonebotPort}/onebot/v11/ws`, `ws://127.0.0.1:${aiocqhttpPort}/ws/`, `ws://127.0.0.1:${app.port}${PATH}`],
      token: TOKEN,
      // Three frameworks answer pings of both accounts in one group: this tests routing, not the send limits.
      sendLimit: { group: 'off' },
    });
  });

  after(async () => {
    await relay?.stop();
    await Promise.all([nonebot?.stop(), aiocqhttp?.stop()]);
    await stopApp(app);
    await Promise.all(accounts.map((fake) => fake.stop()));
  });

  // First: Koishi answers every message that starts with "ping", the Python bots' pings included.
  it('Koishi with two selfId bots over ws-reverse: each comes online as its account and answers a ping there, once', async () => {
    const { ctx } = app!;
    await waitFor(
      () => ctx.bots.filter((b) => b.platform === 'onebot' && b.status === koishi.Universal.Status.ONLINE).length === 2,
      'both Koishi bots online',
      15_000,
    );
    for (const fake of accounts) {
      const bot = ctx.bots.find((b) => b.selfId === String(fake.selfId));
      assert.ok(bot, `a Koishi bot for ${fake.selfId}`);
      assert.equal(bot.user.id, String(fake.selfId), "its get_login_info was answered by its own account's implementation");
    }
    const koishiSends = (fake: FakeImplementation) => fake.calls.filter((c) => c.action === 'send_group_msg');
    const ids = accounts.map((fake, i) => {
      const text = `ping koishi ${i}`;
      const messageId = 7000 + i;
      fake.broadcast(groupMessage(fake.selfId, messageId, text));
      return messageId;
    });
    await waitFor(() => app!.sendResults.length === 2, "Koishi's two replies to settle", RESPONSE_TIMEOUT + 2000);
    for (const result of app!.sendResults) if (result instanceof Error) throw result;
    for (const [i, fake] of accounts.entries()) {
      const session = app!.received.find((s) => s.messageId === String(ids[i]))!;
      assert.equal(session.selfId, String(fake.selfId), 'the message came to the bot of its account');
      const sends = koishiSends(fake);
      assert.equal(sends.length, 1, `one reply reached ${fake.selfId}`);
      assert.equal(sends[0]!.params.group_id, GROUP);
      assert.deepEqual(sends[0]!.params.message, [{ type: 'text', data: { text: `pong to ${SENDER}: 你好` } }]);
    }
    // Each send got back the message_id its own account's implementation gave it.
    const given = accounts.map((fake) => [String((koishiSends(fake)[0]!.reply!.data as { message_id: number }).message_id)]);
    assert.deepEqual([...app!.sendResults].sort(), given.sort());
  });

  for (const which of ['NoneBot2', 'aiocqhttp'] as const) {
    it(`${which} sees two bots (lifecycle and heartbeats of each) and answers a ping on each from that account, once`, async () => {
      const bot = (which === 'NoneBot2' ? nonebot : aiocqhttp)!;
      for (const fake of accounts) {
        await assertLifecycle(bot, fake);
        await assertHeartbeat(bot, fake);
      }
      await pingPong(accounts, bot);
    });
  }
});
