// SendQueue on its own, on a mocked clock: sliding windows per key, fair turns between owners, and order kept.
// test/unit/calls.test.ts shows CallRouter using it for send limits and the rate limit.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Rate } from '../../src/send-limit.ts';
import { SendQueue, type Waiting } from '../../src/send-queue.ts';
import { mockClock, START } from './kit.ts';

interface Entry extends Waiting {
  name: string;
}

function setup(t: TestContext, rates: Record<string, Rate>) {
  const clock = mockClock(t);
  const released: [string, number][] = [];
  const state = { open: true };
  const queue = new SendQueue<Entry>(
    (key) => rates[key.split(':')[0]!]!,
    () => state.open,
    (entry) => released.push([entry.name, Date.now() - START]),
  );
  const add = (owner: object, name: string, ...keys: string[]) => queue.add({ owner, name, keys });
  const names = () => released.map(([name]) => name);
  return { clock, queue, released, state, add, names };
}

/** At most `count` of `times` within any `per` ms. */
function assertWindows(times: number[], { count, per }: Rate): void {
  for (let i = 0; i + count < times.length; i++) {
    assert.ok(times[i + count]! - times[i]! >= per, `${count + 1} within ${per} ms: ${times.slice(i, i + count + 1).join(', ')}`);
  }
}

describe('SendQueue', () => {
  it('releases at most COUNT in any window of DURATION under one key, in order, as soon as the window has room', (t) => {
    const { clock, released, add } = setup(t, { group: { count: 5, per: 1000 } });
    const owner = {};
    for (let n = 1; n <= 12; n++) add(owner, `m${n}`, 'group:1');
    clock.tick(999);
    assert.equal(released.length, 5, 'five at once, then nothing for the rest of the window');
    clock.tick(1);
    clock.tick(1000);
    assert.deepEqual(released, [
      ...[1, 2, 3, 4, 5].map((n) => [`m${n}`, 0]),
      ...[6, 7, 8, 9, 10].map((n) => [`m${n}`, 1000]),
      ['m11', 2000],
      ['m12', 2000],
    ]);
    assertWindows(
      released.map(([, at]) => at),
      { count: 5, per: 1000 },
    );
  });

  it('lets a later entry under another window go past one whose window is full', (t) => {
    const { released, add } = setup(t, { account: { count: 100, per: 1000 }, group: { count: 1, per: 1000 } });
    const owner = {};
    add(owner, 'g1 a', 'account', 'group:1');
    add(owner, 'g1 b', 'account', 'group:1');
    add(owner, 'g2', 'account', 'group:2');
    assert.deepEqual(released, [
      ['g1 a', 0],
      ['g2', 0],
    ]);
  });

  it('takes turns between owners (round-robin, a newcomer at the back of the round): a flood from one never starves another', (t) => {
    const { clock, names, add } = setup(t, { account: { count: 1, per: 100 } });
    const flood = {};
    const other = {};
    for (let n = 1; n <= 10; n++) add(flood, `f${n}`, 'account');
    add(other, 'o1', 'account');
    add(other, 'o2', 'account');
    for (let i = 0; i < 12; i++) clock.tick(100);
    assert.deepEqual(names(), ['f1', 'f2', 'o1', 'f3', 'o2', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9', 'f10']);
  });

  it('holds everything while closed, and resumes when dispatched again', (t) => {
    const { clock, queue, released, state, add } = setup(t, { group: { count: 1, per: 100 } });
    state.open = false;
    add({}, 'a', 'group:1');
    clock.tick(1000);
    assert.equal(released.length, 0);
    assert.equal(queue.size, 1);
    state.open = true;
    queue.dispatch();
    assert.deepEqual(released, [['a', 1000]]);
  });

  it('forgets an entry removed while it waits, and says which window keeps a key waiting', (t) => {
    const { clock, queue, names, add } = setup(t, { group: { count: 1, per: 100 } });
    const owner = {};
    add(owner, 'a', 'group:1');
    const b: Entry = { owner, name: 'b', keys: ['group:1'] };
    queue.add(b);
    add(owner, 'c', 'group:1');
    assert.equal(queue.blockedBy(['group:2', 'group:1']), 'group:1');
    assert.equal(queue.blockedBy(['group:2']), undefined);
    assert.ok(queue.holds('group:1'));
    assert.ok(queue.remove(b));
    assert.ok(!queue.remove(b), 'only once');
    clock.tick(100);
    assert.deepEqual(names(), ['a', 'c']);
    assert.equal(queue.size, 0);
  });

  it('reads the rate of a key each time, so a reload applies to what waits', (t) => {
    const rates = { group: { count: 1, per: 1000 } };
    const { clock, queue, released, add } = setup(t, rates);
    for (const name of ['a', 'b', 'c']) add({}, name, 'group:1');
    rates.group = { count: 3, per: 1000 };
    queue.dispatch();
    clock.tick(0);
    assert.deepEqual(released, [
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]);
  });
});
