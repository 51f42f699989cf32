// CallRouter on its own, over a link in memory and a mocked clock: echo routing, streams, holds, timeouts,
// pacing, a link that goes down, callers that leave, and closing. test/calls.test.ts and
// test/rate-limit.test.ts show the same over real sockets.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type Caller, type CallLink, type CallOptions, type CallRecord, CallRouter } from '../../src/calls.ts';
import { RelayRetcode, type ReplyFrame } from '../../src/onebot.ts';
import { mockClock, recordingLogger, START } from './kit.ts';

interface SentCall {
  action: string;
  params: Record<string, unknown>;
  echo: number;
  /** ms after the test's start */
  at: number;
}

/** The link to the implementation: whether it is up, and every frame it was given. */
class FakeLink implements CallLink {
  up = true;
  /** false: it refuses frames while it says it is up (a socket that is closing). */
  accepts = true;
  readonly sent: SentCall[] = [];

  isUp(): boolean {
    return this.up;
  }

  send(text: string): boolean {
    if (!this.accepts) return false;
    this.sent.push({ ...JSON.parse(text), at: Date.now() - START });
    return true;
  }
}

class TestCaller implements Caller {
  readonly replies: Record<string, any>[] = [];

  constructor(readonly label = 'client') {}

  reply(frame: Record<string, unknown>): void {
    this.replies.push(frame);
  }
}

const OPTIONS: CallOptions = { callTimeout: 5000, hold: 2000, rateLimitInterval: 500, sendLimit: { overflow: 'queue' } };
const OK: ReplyFrame = { status: 'ok', retcode: 0, data: null };

/** The reply a request already has; an empty frame if it has none yet (no waiting on a clock that stands still). */
const now = (request: Promise<ReplyFrame>) => Promise.race([request, Promise.resolve({} as ReplyFrame)]);

function setup(t: TestContext, options: Partial<CallOptions> = {}) {
  const clock = mockClock(t);
  const link = new FakeLink();
  const { log, messages } = recordingLogger();
  const finished: CallRecord[] = [];
  const router = new CallRouter(link, { ...OPTIONS, ...options }, log, (record) => finished.push(record));
  /** The implementation answers the latest call it got with this action. */
  const answer = (action: string, frame: ReplyFrame = OK) => {
    const call = link.sent.filter((s) => s.action === action).at(-1)!;
    router.reply({ ...frame, echo: call.echo });
  };
  /** What went upstream: action, the params' message (if any), and when. */
  const sent = () => link.sent.map((s) => [s.action, s.params.message, s.at]);
  const outcomes = () => finished.map((r) => [r.action, r.outcome]);
  return { clock, link, router, messages, answer, sent, outcomes, caller: new TestCaller() };
}

describe('CallRouter: replies', () => {
  it('gives each caller its own replies with its echo restored exactly, JSON type included', (t) => {
    const { link, router } = setup(t);
    const a = new TestCaller('a');
    const b = new TestCaller('b');
    const echoes = ['1', 1, { seq: 1 }, [1, '1'], null, 0, false, ''];
    for (const echo of echoes) {
      router.call(a, { action: 'get_status', params: { who: 'a' }, echo });
      router.call(b, { action: 'get_status', params: { who: 'b' }, echo });
    }
    assert.equal(new Set(link.sent.map((s) => s.echo)).size, echoes.length * 2, 'each call goes upstream with its own echo');
    // The implementation answers out of order, each reply carrying the params it got.
    for (const call of [...link.sent].reverse()) router.reply({ status: 'ok', retcode: 0, data: call.params, echo: call.echo });
    for (const [caller, who] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      assert.deepEqual(
        caller.replies.map((r) => r.echo),
        [...echoes].reverse(),
      );
      assert.ok(
        caller.replies.every((r) => r.data.who === who),
        `${who} got no other caller's reply`,
      );
    }
    assert.equal(router.pending, 0);
  });

  it('finds a call whose echo the implementation wrote back as a string; drops a reply with an echo not its own', (t) => {
    const { link, router, caller, messages } = setup(t);
    router.call(caller, { action: 'get_status', echo: 'mine' });
    router.reply({ ...OK, echo: 'not ours' });
    router.reply({ ...OK, echo: { seq: link.sent[0]!.echo } });
    assert.equal(caller.replies.length, 0);
    assert.equal(messages('debug').filter((m) => m.startsWith('dropped a reply with no waiting call')).length, 2);
    router.reply({ ...OK, echo: String(link.sent[0]!.echo) });
    assert.deepEqual(
      caller.replies.map((r) => r.echo),
      ['mine'],
    );
  });

  it('sends a large x_async call upstream as its bytes, renamed, not as the skeleton it was read as', (t) => {
    const { link, router, caller } = setup(t);
    const text = 'x'.repeat(70_000);
    const frame = Buffer.from(JSON.stringify({ action: 'send_msg_async', params: { message: text }, echo: 5 }));
    router.call(caller, { action: 'send_msg_async', params: { message: '[70000 bytes]' }, echo: 5, frame });
    assert.deepEqual(
      caller.replies.map((r) => [r.status, r.echo]),
      [['async', 5]],
    );
    assert.equal(link.sent[0]!.action, 'send_msg');
    assert.equal(link.sent[0]!.params.message, text);
  });

  it('answers a call that had no echo without one, and sends missing or null params as {}', (t) => {
    const { link, router, answer, caller } = setup(t);
    router.call(caller, { action: 'get_login_info' });
    router.call(caller, { action: 'get_status', params: null });
    assert.deepEqual(
      link.sent.map((s) => s.params),
      [{}, {}],
    );
    answer('get_login_info');
    assert.ok(!('echo' in caller.replies[0]!));
  });

  it('routes every frame of a stream to its caller, each frame giving the call a new timeout', (t) => {
    const { clock, link, router, outcomes, caller } = setup(t);
    router.call(caller, { action: 'test_stream', echo: 's' });
    const { echo } = link.sent[0]!;
    const chunk = { status: 'ok', retcode: 0, data: { type: 'stream', data: 'part' }, echo };
    clock.tick(4000);
    router.reply(chunk);
    clock.tick(4000);
    router.reply(chunk);
    clock.tick(4999);
    router.reply({ status: 'ok', retcode: 0, data: { type: 'response' }, echo });
    router.reply({ status: 'ok', retcode: 0, data: { type: 'response' }, echo }); // after the end: dropped
    clock.tick(10_000);
    assert.deepEqual(
      caller.replies.map((r) => [r.echo, r.data.type]),
      [
        ['s', 'stream'],
        ['s', 'stream'],
        ['s', 'response'],
      ],
    );
    assert.deepEqual(outcomes(), [['test_stream', 'ok']], 'one call, counted once');
  });

  it('times out a stream that stops sending, and ends one at a failed frame', (t) => {
    const { clock, link, router, outcomes, caller } = setup(t);
    router.call(caller, { action: 'test_stream', echo: 'stalls' });
    router.call(caller, { action: 'test_stream', echo: 'fails' });
    const [stalls, fails] = link.sent.map((s) => s.echo);
    router.reply({ status: 'ok', retcode: 0, data: { type: 'stream' }, echo: stalls });
    router.reply({ status: 'failed', retcode: 200, data: { type: 'stream' }, echo: fails });
    clock.tick(5000);
    assert.deepEqual(
      caller.replies.map((r) => [r.echo, r.retcode]),
      [
        ['stalls', 0],
        ['fails', 200],
        ['stalls', RelayRetcode.timeout],
      ],
    );
    assert.deepEqual(outcomes(), [
      ['test_stream', 'failed'],
      ['test_stream', 'timeout'],
    ]);
  });

  it('reports each finished call with its outcome, and never the relay’s own calls', async (t) => {
    const { clock, router, answer, outcomes, caller } = setup(t);
    router.call(caller, { action: 'get_status' });
    answer('get_status');
    router.call(caller, { action: 'send_group_msg' });
    answer('send_group_msg', { status: 'failed', retcode: 100, data: null });
    const login = router.request('get_login_info', {});
    answer('get_login_info', { status: 'ok', retcode: 0, data: { user_id: 10001 } });
    assert.deepEqual((await now(login)).data, { user_id: 10001 });
    const probe = router.request('get_status', {}, 300);
    clock.tick(300);
    assert.equal((await now(probe)).retcode, RelayRetcode.timeout, 'its own timeout, not the call timeout');
    assert.deepEqual(outcomes(), [
      ['get_status', 'ok'],
      ['send_group_msg', 'failed'],
    ]);
  });
});

describe('CallRouter: timeouts and the link being down', () => {
  it('answers 1504 naming the call timeout when no reply comes, and drops the late reply', (t) => {
    const { clock, router, answer, messages, outcomes, caller } = setup(t);
    router.call(caller, { action: 'get_group_list', echo: 7 });
    clock.tick(4999);
    assert.equal(caller.replies.length, 0);
    clock.tick(1);
    const [reply] = caller.replies;
    assert.deepEqual(
      { ...reply, message: undefined, wording: undefined },
      { status: 'failed', retcode: RelayRetcode.timeout, data: null, message: undefined, wording: undefined, echo: 7 },
    );
    assert.match(reply!.message, /did not answer "get_group_list" within 5000 ms/);
    assert.ok(messages('warn').some((m) => m.startsWith('client: upstream did not answer "get_group_list"')));
    answer('get_group_list');
    assert.equal(caller.replies.length, 1, 'the late reply is dropped');
    assert.ok(messages('debug').some((m) => m.startsWith('dropped a reply with no waiting call')));
    assert.deepEqual(outcomes(), [['get_group_list', 'timeout']]);
  });

  it('holds a call while the link is down and sends it the moment the link is back', (t) => {
    const { clock, link, router, answer, sent, caller } = setup(t);
    link.up = false;
    router.call(caller, { action: 'get_status', echo: 'h' });
    clock.tick(1999);
    assert.equal(link.sent.length, 0);
    assert.equal(caller.replies.length, 0);
    assert.equal(router.pending, 1);
    link.up = true;
    router.linkUp();
    assert.deepEqual(sent(), [['get_status', undefined, 1999]]);
    answer('get_status');
    assert.deepEqual(
      caller.replies.map((r) => [r.status, r.echo]),
      [['ok', 'h']],
    );
  });

  it('answers a call held for the whole hold time with 1502 and never sends it', (t) => {
    const { clock, link, router, outcomes, caller } = setup(t);
    link.up = false;
    router.call(caller, { action: 'get_status', echo: 'h' });
    clock.tick(2000);
    assert.equal(caller.replies[0]!.retcode, RelayRetcode.notConnected);
    assert.equal(caller.replies[0]!.message, 'upstream not connected: waited 2000 ms for the link');
    link.up = true;
    router.linkUp();
    assert.equal(link.sent.length, 0);
    assert.deepEqual(outcomes(), [['get_status', 'not_connected']]);
  });

  it('holds a call no longer than its call timeout, which counts from its arrival', (t) => {
    const { clock, link, router, caller } = setup(t, { callTimeout: 1500 });
    link.up = false;
    router.call(caller, { action: 'get_status', echo: 'short' });
    clock.tick(1500);
    assert.equal(caller.replies[0]!.message, 'upstream not connected: waited 1500 ms for the link');
    router.call(caller, { action: 'get_status', echo: 'late' });
    clock.tick(1000);
    link.up = true;
    router.linkUp();
    clock.tick(499);
    assert.equal(caller.replies.length, 1, 'sent after 1000 ms held');
    clock.tick(1);
    assert.deepEqual(
      [caller.replies[1]!.echo, caller.replies[1]!.retcode],
      ['late', RelayRetcode.timeout],
      'the held time counts toward the call timeout',
    );
  });

  it('holds a call the link refuses while it says it is up (a closing socket), and sends it when the link is back', (t) => {
    const { link, router, caller } = setup(t);
    link.accepts = false;
    router.call(caller, { action: 'get_status' });
    assert.equal(link.sent.length, 0);
    assert.equal(router.pending, 1);
    link.accepts = true;
    router.linkUp();
    assert.equal(link.sent.length, 1);
  });

  it('answers calls already sent with 1503 when the link goes down, and never resends them', (t) => {
    const { link, router, answer, outcomes, caller } = setup(t);
    router.call(caller, { action: 'send_group_msg', params: { message: 'once' }, echo: 1 });
    router.call(caller, { action: 'get_status', echo: 2 });
    link.up = false;
    router.linkDown();
    assert.deepEqual(
      caller.replies.map((r) => [r.echo, r.retcode]),
      [
        [1, RelayRetcode.outcomeUnknown],
        [2, RelayRetcode.outcomeUnknown],
      ],
    );
    assert.match(caller.replies[0]!.message, /link lost after "send_group_msg" was sent: outcome unknown, not resent/);
    router.call(caller, { action: 'get_status', echo: 3 });
    link.up = true;
    router.linkUp();
    assert.deepEqual(
      link.sent.map((s) => s.action),
      ['send_group_msg', 'get_status', 'get_status'],
      'only the call held since goes out',
    );
    answer('send_group_msg');
    assert.equal(caller.replies.length, 2, 'a reply to a lost call is dropped');
    assert.deepEqual(outcomes(), [
      ['send_group_msg', 'unknown'],
      ['get_status', 'unknown'],
    ]);
  });

  it('with its calls lost while the link stays up (a replaced socket), fails only those sent: the rest keep their pace', (t) => {
    const { clock, router, sent, caller } = setup(t);
    for (const message of ['r1', 'r2', 'r3']) router.call(caller, { action: 'send_group_msg_rate_limited', params: { message } });
    clock.tick(0);
    router.linkDown();
    clock.tick(500);
    router.call(caller, { action: 'get_status' });
    clock.tick(500);
    assert.deepEqual(sent(), [
      ['send_group_msg', 'r1', 0],
      ['send_group_msg', 'r2', 500],
      ['get_status', undefined, 500],
      ['send_group_msg', 'r3', 1000],
    ]);
  });
});

describe('CallRouter: _async, _rate_limited and paced sends', () => {
  it('answers x_rate_limited with status async at once and sends x one per interval, in order', (t) => {
    const { clock, router, answer, sent, outcomes, caller } = setup(t);
    for (const n of [1, 2, 3, 4]) router.call(caller, { action: 'send_group_msg_rate_limited', params: { message: `m${n}` }, echo: n });
    assert.deepEqual(caller.replies[0], { status: 'async', retcode: 1, data: null, message: '', wording: '', echo: 1 });
    assert.deepEqual(
      caller.replies.map((r) => [r.status, r.echo]),
      [
        ['async', 1],
        ['async', 2],
        ['async', 3],
        ['async', 4],
      ],
    );
    clock.tick(0);
    clock.tick(499);
    assert.equal(sent().length, 1);
    for (let i = 0; i < 3; i++) {
      clock.tick(1);
      answer('send_group_msg');
      clock.tick(499);
    }
    assert.deepEqual(sent(), [
      ['send_group_msg', 'm1', 0],
      ['send_group_msg', 'm2', 500],
      ['send_group_msg', 'm3', 1000],
      ['send_group_msg', 'm4', 1500],
    ]);
    assert.equal(caller.replies.length, 4, 'the caller had its answer: the background replies are not sent to it');
    assert.equal(outcomes().length, 3, 'the background calls are counted as the calls they are');
  });

  it('gives a rate-limited call its turn at the rate limit on top of the call timeout', (t) => {
    const { clock, router, answer, sent, messages, caller } = setup(t, { callTimeout: 1000 });
    for (const n of [1, 2, 3, 4]) router.call(caller, { action: 'send_group_msg_rate_limited', params: { message: `m${n}` } });
    clock.tick(0);
    for (let i = 0; i < 3; i++) {
      answer('send_group_msg');
      clock.tick(500);
    }
    assert.deepEqual(
      sent().map(([, message, at]) => [message, at]),
      [
        ['m1', 0],
        ['m2', 500],
        ['m3', 1000],
        ['m4', 1500],
      ],
      'the fourth goes out 1500 ms after it came, past the 1000 ms call timeout',
    );
    assert.deepEqual(messages('warn'), []);
  });

  it('answers x_async with status async at once, sends x unpaced, and logs it if it fails', (t) => {
    const { router, answer, sent, messages, caller } = setup(t);
    router.call(caller, { action: 'set_group_ban_async', params: { group_id: 1 }, echo: 'a' });
    assert.deepEqual(
      caller.replies.map((r) => [r.status, r.retcode, r.echo]),
      [['async', 1, 'a']],
    );
    assert.deepEqual(sent(), [['set_group_ban', undefined, 0]]);
    answer('set_group_ban', { status: 'failed', retcode: 102, data: null, message: 'no permission' });
    assert.equal(caller.replies.length, 1);
    assert.deepEqual(messages('warn'), ['client (set_group_ban async) failed: no permission']);
  });

  it('sends send_* calls at once while nothing waits at the rate limit', (t) => {
    const { router, sent, caller } = setup(t);
    router.call(caller, { action: 'send_group_msg', params: { message: 'a' } });
    router.call(caller, { action: 'send_private_msg', params: { message: 'b' } });
    assert.deepEqual(sent(), [
      ['send_group_msg', 'a', 0],
      ['send_private_msg', 'b', 0],
    ]);
  });

  it('drains send_* calls held through an outage one per interval, other calls at once, newcomers behind the backlog', (t) => {
    const { clock, link, router, sent, caller } = setup(t);
    link.up = false;
    for (const message of ['h1', 'h2', 'h3']) router.call(caller, { action: 'send_group_msg', params: { message } });
    router.call(caller, { action: 'get_status' });
    clock.tick(100);
    link.up = true;
    router.linkUp();
    clock.tick(0);
    clock.tick(250);
    router.call(caller, { action: 'send_private_msg', params: { message: 'new' } });
    router.call(caller, { action: 'get_login_info' });
    clock.tick(250);
    for (let i = 0; i < 3; i++) clock.tick(500);
    assert.deepEqual(sent(), [
      ['get_status', undefined, 100],
      ['send_group_msg', 'h1', 100],
      ['get_login_info', undefined, 350],
      ['send_group_msg', 'h2', 600],
      ['send_group_msg', 'h3', 1100],
      ['send_private_msg', 'new', 1600],
    ]);
  });

  it('answers a paced call whose time runs out before its turn with 1502, and never sends it', (t) => {
    const { clock, link, router, answer, sent, caller } = setup(t, { callTimeout: 1100 });
    link.up = false;
    for (const n of [1, 2, 3]) router.call(caller, { action: 'send_private_msg', params: { message: `p${n}` }, echo: n });
    clock.tick(200);
    link.up = true;
    router.linkUp();
    clock.tick(0);
    answer('send_private_msg');
    clock.tick(500);
    answer('send_private_msg');
    clock.tick(400);
    assert.deepEqual(
      caller.replies.map((r) => [r.echo, r.retcode]),
      [
        [1, 0],
        [2, 0],
        [3, RelayRetcode.notConnected],
      ],
    );
    assert.match(caller.replies[2]!.message, /not sent: "send_private_msg" was still waiting its turn at the rate limit/);
    clock.tick(5000);
    assert.deepEqual(
      sent().map(([, message]) => message),
      ['p1', 'p2'],
    );
  });

  it('keeps the paced calls through an outage that starts while they wait, and resumes the pace after it', (t) => {
    const { clock, link, router, sent, caller } = setup(t);
    for (const message of ['r1', 'r2', 'r3']) router.call(caller, { action: 'send_group_msg_rate_limited', params: { message } });
    clock.tick(0);
    link.up = false;
    router.linkDown();
    clock.tick(500);
    clock.tick(300);
    assert.equal(sent().length, 1, 'nothing sent while the link is down');
    link.up = true;
    router.linkUp();
    clock.tick(0);
    clock.tick(500);
    assert.deepEqual(sent(), [
      ['send_group_msg', 'r1', 0],
      ['send_group_msg', 'r2', 800],
      ['send_group_msg', 'r3', 1300],
    ]);
  });
});

describe('CallRouter: callers that leave, and closing', () => {
  it('drops the held calls of a caller that leaves and keeps everyone else’s', (t) => {
    const { clock, link, router, sent, caller } = setup(t);
    const leaving = new TestCaller('leaving');
    link.up = false;
    router.call(leaving, { action: 'send_group_msg', params: { message: 'gone' } });
    router.call(leaving, { action: 'get_status' });
    router.call(caller, { action: 'send_group_msg', params: { message: 'stays' } });
    router.abandon(leaving);
    assert.equal(router.pending, 1);
    link.up = true;
    router.linkUp();
    clock.tick(5000);
    assert.deepEqual(
      sent().map(([action, message]) => [action, message]),
      [['send_group_msg', 'stays']],
    );
    assert.equal(leaving.replies.length, 0, 'no answers to a caller that is gone');
  });

  it('drops the sends of a caller that leaves while they wait at the rate limit', (t) => {
    const { clock, link, router, sent } = setup(t);
    const leaving = new TestCaller('leaving');
    link.up = false;
    for (const message of ['h1', 'h2', 'h3']) router.call(leaving, { action: 'send_group_msg', params: { message } });
    link.up = true;
    router.linkUp();
    clock.tick(0);
    router.abandon(leaving);
    clock.tick(5000);
    assert.deepEqual(
      sent().map(([, message]) => message),
      ['h1'],
    );
  });

  it('still sends the x_rate_limited calls of a caller that leaves: they were answered (async) and accepted', (t) => {
    const { clock, router, sent } = setup(t);
    const leaving = new TestCaller('leaving');
    for (const message of ['r1', 'r2']) router.call(leaving, { action: 'send_group_msg_rate_limited', params: { message } });
    clock.tick(0);
    router.abandon(leaving);
    clock.tick(500);
    assert.deepEqual(
      sent().map(([, message]) => message),
      ['r1', 'r2'],
    );
  });

  it('answers every call still waiting with 1502 on close, and sends nothing after', (t) => {
    // The first held send goes out with the link; the second waits its turn at the rate limit.
    const { clock, link, router, caller } = setup(t);
    link.up = false;
    router.call(caller, { action: 'get_status', echo: 'in flight' });
    for (const n of [1, 2]) router.call(caller, { action: 'send_group_msg', echo: `paced ${n}` });
    link.up = true;
    router.linkUp();
    link.up = false;
    router.call(caller, { action: 'get_status', echo: 'held' });
    router.close();
    assert.deepEqual(
      caller.replies.map((r) => [r.echo, r.retcode, r.message]),
      ['held', 'paced 2', 'in flight', 'paced 1'].map((echo) => [echo, RelayRetcode.notConnected, 'relay shutting down']),
    );
    assert.equal(router.pending, 0);
    link.up = true;
    clock.tick(10_000);
    assert.equal(link.sent.length, 2, 'only the calls sent before the close');
    assert.equal(caller.replies.length, 4, 'answered once each');
  });
});

describe('CallRouter: send limits', () => {
  const GROUP_5_PER_S = { group: { count: 5, per: 1000 }, overflow: 'queue' as const };
  const groupSend = (group: number, message: string, echo: unknown = message) => ({
    action: 'send_group_msg',
    params: { group_id: group, message },
    echo,
  });

  it('queues sends over a group limit and answers each once it was really sent; other groups and other calls go at once', (t) => {
    const { clock, router, sent, answer, caller } = setup(t, { sendLimit: GROUP_5_PER_S });
    for (let n = 1; n <= 7; n++) router.call(caller, groupSend(1, `g1 ${n}`));
    router.call(caller, groupSend(2, 'g2'));
    router.call(caller, { action: 'get_group_list', echo: 'list' });
    answer('get_group_list');
    assert.deepEqual(
      caller.replies.map((r) => r.echo),
      ['list'],
      'the get_* was answered, no send has a reply before it was sent',
    );
    clock.tick(1000);
    assert.deepEqual(
      sent().map(([, message, at]) => [message ?? 'get_group_list', at]),
      [...[1, 2, 3, 4, 5].map((n) => [`g1 ${n}`, 0]), ['g2', 0], ['get_group_list', 0], ['g1 6', 1000], ['g1 7', 1000]],
    );
    assert.deepEqual(router.sendStats(), { per_minute: 6, queued: 0, delayed: 2, rejected: 0 }, 'the second now ending is not yet counted');
  });

  it('never lets one caller’s flood starve another’s reply: turns alternate under the account limit', (t) => {
    const { clock, router, sent } = setup(t, { sendLimit: { account: { count: 2, per: 1000 }, overflow: 'queue' } });
    const flood = new TestCaller('flood');
    const reply = new TestCaller('reply');
    for (let n = 1; n <= 20; n++) router.call(flood, groupSend(100 + n, `broadcast ${n}`));
    router.call(reply, groupSend(7, 'pong'));
    clock.tick(1000);
    assert.deepEqual(
      sent().map(([, message, at]) => [message, at]),
      [
        ['broadcast 1', 0],
        ['broadcast 2', 0],
        ['broadcast 3', 1000],
        ['pong', 1000],
      ],
      'the reply had the next free turn, not the 21st',
    );
  });

  it('with overflow "reject", answers a send over the limit at once with 1429 naming the limit, and never sends it', (t) => {
    const { clock, router, sent, outcomes, caller } = setup(t, { sendLimit: { ...GROUP_5_PER_S, overflow: 'reject' } });
    for (let n = 1; n <= 6; n++) router.call(caller, groupSend(1, `m${n}`, n));
    router.call(caller, { action: 'send_private_msg', params: { user_id: 9, message: 'dm' }, echo: 'dm' });
    assert.deepEqual(
      caller.replies.map((r) => [r.echo, r.retcode]),
      [[6, RelayRetcode.sendLimited]],
    );
    assert.equal(caller.replies[0]!.message, 'not sent: over the send limit for group 1 (5/1s); sendLimit.overflow is "reject"');
    clock.tick(5000);
    assert.deepEqual(
      sent().map(([, message]) => message),
      ['m1', 'm2', 'm3', 'm4', 'm5', 'dm'],
    );
    assert.deepEqual(outcomes()[0], ['send_group_msg', 'limited']);
    assert.equal(router.sendStats().rejected, 1);
  });

  it('answers 1429 a queued send whose call timeout runs out before its turn, and never sends it', (t) => {
    const { clock, router, sent, caller } = setup(t, { callTimeout: 1500, sendLimit: GROUP_5_PER_S });
    for (let n = 1; n <= 12; n++) router.call(caller, groupSend(1, `m${n}`, n));
    clock.tick(1000);
    clock.tick(500);
    const limited = caller.replies.filter((r) => r.retcode === RelayRetcode.sendLimited);
    assert.deepEqual(
      limited.map((r) => r.echo),
      [11, 12],
    );
    assert.equal(
      limited[0]!.message,
      'not sent: "send_group_msg" was still waiting its turn under the send limit for group 1 (5/1s) when its call timeout (1500 ms) ran out',
    );
    clock.tick(5000);
    assert.equal(sent().length, 10);
  });

  it('applies the send limits to x_rate_limited sends as well as the rate limit', (t) => {
    const { clock, router, sent, caller } = setup(t, {
      rateLimitInterval: 100,
      sendLimit: { group: { count: 2, per: 1000 }, overflow: 'queue' },
    });
    for (let n = 1; n <= 4; n++) router.call(caller, { action: 'send_group_msg_rate_limited', params: { group_id: 1, message: `r${n}` } });
    for (let i = 0; i < 20; i++) clock.tick(100);
    assert.deepEqual(
      sent().map(([, message, at]) => [message, at]),
      [
        ['r1', 0],
        ['r2', 100],
        ['r3', 1000],
        ['r4', 1100],
      ],
    );
  });

  it('drains sends held through an outage at the rate limit and within the send limits', (t) => {
    const { clock, link, router, sent, caller } = setup(t, {
      rateLimitInterval: 100,
      sendLimit: { group: { count: 2, per: 1000 }, overflow: 'queue' },
    });
    link.up = false;
    for (let n = 1; n <= 3; n++) router.call(caller, groupSend(1, `h${n}`));
    router.call(caller, groupSend(2, 'other'));
    link.up = true;
    router.linkUp();
    for (let i = 0; i < 12; i++) clock.tick(100);
    assert.deepEqual(
      sent().map(([, message, at]) => [message, at]),
      [
        ['h1', 0],
        ['h2', 100],
        ['other', 200],
        ['h3', 1000],
      ],
    );
  });
});
