// ClientLifecycle on its own, with a mocked clock: lifecycle first, then heartbeats that say the account's link
// as it is at each beat, and a disable to part with. test/events.test.ts and test/http-post.test.ts show the
// same over real sockets.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { ClientLifecycle } from '../../src/downstream/lifecycle.ts';
import { mockClock } from './kit.ts';

interface Meta {
  kind: 'lifecycle' | 'heartbeat';
  event: Record<string, unknown>;
}

function setup(t: TestContext, interval: number) {
  const clock = mockClock(t);
  let link = { online: true, good: true };
  const listeners = new Set<() => void>();
  const accounts = {
    linkStatus: () => link,
    onStatusChange: (_selfId: unknown, listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  /** A client of these accounts, with what it is sent; `onBeat` runs on each heartbeat it is sent. */
  const client = (every = interval, onBeat: () => void = () => {}) => {
    const got: Meta[] = [];
    const one = new ClientLifecycle(accounts, every, {
      lifecycle: (event) => got.push({ kind: 'lifecycle', event: JSON.parse(event) }),
      heartbeat: (event) => {
        got.push({ kind: 'heartbeat', event: JSON.parse(event) });
        onBeat();
      },
    });
    t.after(() => one.end());
    return { lifecycle: one, sent: got };
  };
  const { lifecycle, sent } = client();
  return {
    clock,
    sent,
    lifecycle,
    client,
    listeners,
    setLink: (now: typeof link) => (link = now),
    /** The account's link changes, as the hub tells it. */
    change: (now: typeof link) => {
      link = now;
      for (const listener of listeners) listener();
    },
  };
}

describe('ClientLifecycle', () => {
  it('says lifecycle first, then a heartbeat every interval with the link as it is at that beat', (t) => {
    const { clock, sent, lifecycle, setLink } = setup(t, 1000);
    lifecycle.begin(10001, 'connect');
    assert.deepEqual(
      sent.map((m) => [m.kind, m.event.sub_type, m.event.self_id]),
      [['lifecycle', 'connect', 10001]],
    );
    clock.tick(999);
    assert.equal(sent.length, 1);
    clock.tick(1);
    setLink({ online: false, good: false });
    clock.tick(1000);
    const beats = sent.filter((m) => m.kind === 'heartbeat').map((m) => m.event);
    assert.deepEqual(
      beats.map((b) => [b.meta_event_type, b.self_id, b.interval, b.status]),
      [
        ['heartbeat', 10001, 1000, { online: true, good: true }],
        ['heartbeat', 10001, 1000, { online: false, good: false }],
      ],
    );
  });

  it('sends no heartbeats with an interval of 0 (HTTP POST by default)', (t) => {
    const { clock, sent, lifecycle } = setup(t, 0);
    lifecycle.begin(10001, 'enable');
    clock.tick(60_000);
    assert.deepEqual(
      sent.map((m) => [m.kind, m.event.sub_type]),
      [['lifecycle', 'enable']],
    );
  });

  it('stops the heartbeats at end, and gives the disable to part with only once serving had begun', (t) => {
    const { clock, sent, lifecycle } = setup(t, 1000);
    assert.equal(lifecycle.end(), undefined, 'nothing to part with before begin');
    lifecycle.begin('u_abc', 'connect');
    const disable = JSON.parse(lifecycle.end()!);
    assert.deepEqual([disable.meta_event_type, disable.sub_type, disable.self_id], ['lifecycle', 'disable', 'u_abc']);
    clock.tick(10_000);
    assert.equal(sent.length, 1, 'no heartbeat after end');
  });

  it('keeps one heartbeat series when serving begins again', (t) => {
    const { clock, sent, lifecycle } = setup(t, 1000);
    lifecycle.begin(10001, 'connect');
    lifecycle.begin(10002, 'connect');
    clock.tick(1000);
    assert.deepEqual(
      sent.filter((m) => m.kind === 'heartbeat').map((m) => m.event.self_id),
      [10002],
    );
  });

  it('says a change of the link at once in a heartbeat, then beats a full interval from there', (t) => {
    const { clock, sent, lifecycle, change, listeners } = setup(t, 1000);
    lifecycle.begin(10001, 'connect');
    clock.tick(400);
    change({ online: false, good: false });
    const beats = () => sent.filter((m) => m.kind === 'heartbeat').map((m) => (m.event.status as { good: boolean }).good);
    assert.deepEqual(beats(), [false], 'at once, not at the next beat');
    clock.tick(999);
    assert.deepEqual(beats(), [false], 'the interval starts again from the change');
    clock.tick(1);
    assert.deepEqual(beats(), [false, false]);
    change({ online: true, good: true });
    assert.deepEqual(beats(), [false, false, true]);
    lifecycle.end();
    assert.equal(listeners.size, 0, 'no longer listening once serving ends');
  });

  it('beats once for every client of one account and interval: one timer and one subscription for them all', (t) => {
    const { clock, sent, lifecycle, client, listeners, change } = setup(t, 1000);
    const later = client();
    const slower = client(3000);
    lifecycle.begin(10001, 'connect');
    clock.tick(600);
    later.lifecycle.begin(10001, 'connect');
    slower.lifecycle.begin(10001, 'connect');
    assert.equal(listeners.size, 2, 'one subscription per interval, not per client');
    clock.tick(400);
    const beats = (of: Meta[]) => of.filter((m) => m.kind === 'heartbeat').map((m) => m.event);
    assert.equal(beats(later.sent).length, 1, 'the later client hears the beat of the others, 400 ms after its lifecycle');
    assert.deepEqual(beats(later.sent), beats(sent));
    assert.equal(beats(slower.sent).length, 0);
    change({ online: false, good: false });
    assert.deepEqual(
      [beats(sent).length, beats(later.sent).length, beats(slower.sent).length],
      [2, 2, 1],
      'a change is told to every client at once',
    );
    lifecycle.end();
    clock.tick(1000);
    assert.deepEqual([beats(sent).length, beats(later.sent).length], [2, 3], 'the beat goes on for the client left');
    later.lifecycle.end();
    slower.lifecycle.end();
    assert.equal(listeners.size, 0, 'no subscription once the last client of each beat is gone');
    clock.tick(10_000);
    assert.deepEqual([beats(sent).length, beats(later.sent).length, beats(slower.sent).length], [2, 3, 1]);
  });

  it('stops the beat when the last client leaves on hearing it, even on a change of the link', (t) => {
    const { clock, client, listeners, change } = setup(t, 1000);
    const leaving = client(1000, () => leaving.lifecycle.end());
    leaving.lifecycle.begin(10001, 'connect');
    change({ online: false, good: false });
    assert.equal(listeners.size, 0);
    clock.tick(10_000);
    assert.equal(leaving.sent.filter((m) => m.kind === 'heartbeat').length, 1);
  });
});
