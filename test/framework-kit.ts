// What the real-framework tests (NoneBot2, aiocqhttp) share: the relay's timings for them, and the checks that a
// framework took the relay's lifecycle and heartbeat events as its own and answered a group "ping" with one "pong"
// (on each account, when there are several).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Settings } from '../src/config.ts';
import { HttpApiAdapter } from '../src/downstream/http-api.ts';
import { type FakeImplementation, GROUP, type ReceivedCall } from './fake-impl.ts';
import { HeaderTap } from './header-tap.ts';
import { startTestRelay, type TestRelay } from './helpers.ts';
import type { PythonBot, Report } from './python-bot.ts';

/**
 * Relay timings for Python frameworks on a busy 2-core machine: pings they answer from their event loop get a
 * generous timeout, and heartbeats come often enough to be seen without flooding them.
 */
export const FRAMEWORK: Settings = { heartbeat: 1000, ping: 1000, pingTimeout: 3000, callTimeout: 2000, hold: 3000 };

export const TOKEN = 'relay-token';
export const SECRET = 'relay-secret';

/** The relay's lifecycle event `subType` reached the bot (after its first `from` ones) as a lifecycle event for the fake's account. */
export async function assertLifecycle(bot: PythonBot, fake: FakeImplementation, subType = 'connect', from = 0): Promise<void> {
  const event = await bot.next('lifecycle', { from, match: (e) => e.sub_type === subType && e.self_id === fake.selfId });
  if (event.type !== undefined) assert.equal(event.type, 'LifecycleMetaEvent', "NoneBot's own class for it");
}

/** A relay heartbeat reached the bot as its heartbeat event, with the types the frameworks require. */
export async function assertHeartbeat(bot: PythonBot, fake: FakeImplementation, from = 0): Promise<void> {
  const beat = await bot.next('heartbeat', { from, match: (e) => e.self_id === fake.selfId });
  if (beat.type !== undefined) assert.equal(beat.type, 'HeartbeatMetaEvent', "NoneBot's own class for it");
  assert.ok(Number.isInteger(beat.time) && Math.abs(beat.time - Date.now() / 1000) < 30, `time ${beat.time} is whole seconds, now`);
  assert.equal(beat.online, true);
  assert.equal(beat.good, true);
  assert.equal(beat.interval, FRAMEWORK.heartbeat);
}

/** The text of a message parameter: a string, or its text segments. */
export function messageText(message: unknown): string {
  if (typeof message === 'string') return message;
  return (message as { type: string; data: { text?: string } }[])
    .filter((s) => s.type === 'text')
    .map((s) => s.data.text)
    .join('');
}

/** The send calls carrying `text` that reached the implementation. */
export function sendsOf(fake: FakeImplementation, text: string): ReceivedCall[] {
  return fake.calls.filter((c) => c.action.startsWith('send_') && messageText(c.params.message) === text);
}

/**
 * Say "ping" in the group of each account (`fakes`) at once and wait for each bot's "pong from NAME" on each: each
 * reaches that account's implementation exactly once, and each bot gets back the message_id that implementation gave
 * its own send (so no reply crossed to another bot or account).
 */
export async function pingPong(fakes: FakeImplementation | FakeImplementation[], ...bots: PythonBot[]): Promise<void> {
  const accounts = [fakes].flat();
  const from = bots.map((bot) => ({ messages: bot.seen('message').length, sent: bot.seen('sent').length }));
  const pongsBefore = bots.map((bot) => accounts.map((fake) => sendsOf(fake, `pong from ${bot.name}`).length));
  const messageIds = accounts.map((fake) => fake.say('ping'));
  await Promise.all(
    bots.flatMap((bot, i) =>
      accounts.map(async (fake, j) => {
        const ofAccount = (report: Report) => report.self_id === fake.selfId;
        // By its message_id: a report of an earlier message (another test's) may still come after `from` was taken.
        const isPing = (report: Report) => ofAccount(report) && report.message_id === messageIds[j];
        const message = await bot.next('message', { from: from[i]!.messages, match: isPing });
        assert.deepEqual(
          { group_id: message.group_id, message_id: message.message_id, text: message.text },
          { group_id: GROUP, message_id: messageIds[j], text: 'ping' },
        );
        const sent = await bot.next('sent', { from: from[i]!.sent, match: ofAccount });
        const pongs = sendsOf(fake, `pong from ${bot.name}`).slice(pongsBefore[i]![j]);
        assert.equal(pongs.length, 1, `one "pong from ${bot.name}" reached ${fake.selfId}`);
        assert.equal(pongs[0]!.params.group_id, GROUP);
        assert.equal(sent.message_id, (pongs[0]!.reply!.data as { message_id: number }).message_id, `${bot.name} got its own reply`);
      }),
    ),
  );
}

/** A relay as a framework on HTTP meets it: events POSTed to `postUrl` (with heartbeats), and its HTTP API behind a tap. */
export async function httpRelay(fake: FakeImplementation, postUrl: string): Promise<{ relay: TestRelay; tap: HeaderTap; apiRoot: string }> {
  const relay = await startTestRelay(fake.url, {
    ...FRAMEWORK,
    http: ['127.0.0.1:0'],
    post: [{ url: postUrl, heartbeat: FRAMEWORK.heartbeat }],
    token: TOKEN,
    secret: SECRET,
  });
  const tap = await HeaderTap.start(relay.relay.adapters.find((a) => a instanceof HttpApiAdapter)!.listener.port);
  return { relay, tap, apiRoot: `http://127.0.0.1:${tap.port}/` };
}

/** The framework's first call through `tap` was its pong, with the token and without an Origin header (it is no browser). */
export function assertApiCall(tap: HeaderTap, t: TestContext, client: string): void {
  const [call] = tap.requests;
  assert.equal(call!.line, 'POST /send_msg HTTP/1.1');
  assert.equal(call!.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(call!.headers.origin, undefined, 'no Origin header');
  t.diagnostic(`${client} call headers: ${JSON.stringify(call!.headers)}`);
}
