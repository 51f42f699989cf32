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
  const sent: Meta[] = [];
  let link = { online: true, good: true };
  const listeners = new Set<() => void>();
  const accounts = {
    linkStatus: () => link,
    onStatusChange: (_selfId: unknown, listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const lifecycle = new ClientLifecycle(accounts, interval, {
    lifecycle: (event) => sent.push({ kind: 'lifecycle', event: JSON.parse(event) }),
    heartbeat: (event) => sent.push({ kind: 'heartbeat', event: JSON.parse(event) }),
  });
  t.after(() => lifecycle.end());
  return {
    clock,
    sent,
    lifecycle,
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
});
