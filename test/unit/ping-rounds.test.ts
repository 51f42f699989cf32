// The ping watch on its own, with a mocked clock: every socket watched with the same options is pinged by one
// round timer, and one deadline per round finds those that stayed silent. test/upstream.test.ts and
// test/faults/patience.test.ts show the same over real sockets.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { type Pingable, type PingOptions, unwatchPings, watchPings } from '../../src/keepalive.ts';
import { mockClock } from './kit.ts';

/** A socket as the watch sees it: it counts the pings it is sent, and answers only when told. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  pings = 0;
  /** Why it was declared dead, each time it was. */
  readonly deaths: string[] = [];

  ping(): void {
    this.pings++;
  }

  watch(t: TestContext, options: PingOptions): this {
    watchPings(this as unknown as Pingable, options, (why) => this.deaths.push(why));
    t.after(() => unwatchPings(this as unknown as Pingable));
    return this;
  }
}

const OPTIONS = { interval: 1000, timeout: 300 };

describe('ping rounds', () => {
  it('pings every socket once a round, and declares dead only one that stays silent for the timeout after it', (t) => {
    const clock = mockClock(t);
    const answers = new FakeSocket().watch(t, OPTIONS);
    const speaks = new FakeSocket().watch(t, OPTIONS);
    const silent = new FakeSocket().watch(t, OPTIONS);
    clock.tick(999);
    assert.deepEqual([answers.pings, speaks.pings, silent.pings], [0, 0, 0]);
    clock.tick(1);
    assert.deepEqual([answers.pings, speaks.pings, silent.pings], [1, 1, 1], 'one round pings them all');
    answers.emit('pong');
    speaks.emit('message', Buffer.from('{}'), false); // any frame answers too
    clock.tick(299);
    assert.deepEqual(silent.deaths, []);
    clock.tick(1);
    assert.deepEqual(silent.deaths, ['no pong or frame within 300 ms of a ping']);
    assert.deepEqual([answers.deaths, speaks.deaths], [[], []]);
    clock.tick(700);
    assert.deepEqual([answers.pings, speaks.pings, silent.pings], [2, 2, 1], 'the dead one is no longer watched');
    clock.tick(5000);
    assert.equal(silent.deaths.length, 1, 'declared dead once');
    assert.equal(silent.listenerCount('pong') + silent.listenerCount('message') + silent.listenerCount('close'), 0);
  });

  it('pings a socket that came between rounds at the next round, with the others', (t) => {
    const clock = mockClock(t);
    const first = new FakeSocket().watch(t, OPTIONS);
    clock.tick(600);
    const later = new FakeSocket().watch(t, OPTIONS);
    clock.tick(400);
    assert.deepEqual([first.pings, later.pings], [1, 1]);
    later.emit('pong');
    clock.tick(300);
    assert.deepEqual(later.deaths, []);
    assert.equal(first.deaths.length, 1);
  });

  it('does not ping again a socket that still owes an answer, and times it out from its ping', (t) => {
    const clock = mockClock(t);
    const slow = new FakeSocket().watch(t, { interval: 100, timeout: 250 });
    clock.tick(100);
    assert.equal(slow.pings, 1);
    clock.tick(200);
    assert.equal(slow.pings, 1, 'rounds at 200 and 300 ms pass it by');
    assert.deepEqual(slow.deaths, []);
    clock.tick(50);
    assert.equal(slow.deaths.length, 1, '250 ms after its ping');
  });

  it('skips a socket that is not open', (t) => {
    const clock = mockClock(t);
    const closing = new FakeSocket().watch(t, OPTIONS);
    closing.readyState = 2;
    clock.tick(1300);
    assert.deepEqual([closing.pings, closing.deaths], [0, []]);
  });

  it('stops watching a socket once it closes or is unwatched, and keeps a round for each set of options', (t) => {
    const clock = mockClock(t);
    const closes = new FakeSocket().watch(t, OPTIONS);
    const unwatched = new FakeSocket().watch(t, OPTIONS);
    const other = new FakeSocket().watch(t, { interval: 500, timeout: 300 });
    closes.emit('close', 1000, Buffer.alloc(0));
    unwatchPings(unwatched as unknown as Pingable);
    clock.tick(500);
    assert.equal(other.pings, 1, 'its own round, every 500 ms');
    clock.tick(500);
    assert.deepEqual([closes.pings, unwatched.pings], [0, 0]);
    for (const socket of [closes, unwatched])
      assert.equal(socket.listenerCount('pong') + socket.listenerCount('message') + socket.listenerCount('close'), 0);
    // Watched again after it was let go: a round again.
    unwatched.watch(t, OPTIONS);
    clock.tick(1000);
    assert.equal(unwatched.pings, 1);
  });
});
