// DuplicateFilter on its own, with a mocked clock: what counts as the same event, the window, and the count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateFilter, hash53 } from '../../src/dedupe.ts';
import { mockClock } from './kit.ts';

const recall = (time: number, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      time,
      self_id: 10001,
      post_type: 'notice',
      notice_type: 'group_recall',
      group_id: 123,
      user_id: 456,
      operator_id: 456,
      message_id: 789,
      ...extra,
    }),
  );

describe('DuplicateFilter', () => {
  it('drops an event identical but for its time within the window, and counts it', (t) => {
    const clock = mockClock(t);
    const filter = new DuplicateFilter(10_000);
    assert.equal(filter.isDuplicate(recall(1000)), false);
    clock.tick(9_000);
    assert.equal(filter.isDuplicate(recall(1009)), true);
    assert.equal(filter.dropped, 1);
  });

  it('lets through any other difference, however small', (t) => {
    mockClock(t);
    const filter = new DuplicateFilter(10_000);
    assert.equal(filter.isDuplicate(recall(1000)), false);
    assert.equal(filter.isDuplicate(recall(1000, { message_id: 790 })), false);
    assert.equal(filter.isDuplicate(recall(1000, { operator_id: 457 })), false);
    assert.equal(filter.isDuplicate(recall(1000, { extra: { time: 1 } })), false, 'only the top-level time is left out');
    assert.equal(filter.dropped, 0);
  });

  it('counts the window from the event let through: a repeat past it goes through and starts a new one', (t) => {
    const clock = mockClock(t);
    const filter = new DuplicateFilter(10_000);
    assert.equal(filter.isDuplicate(recall(1)), false);
    clock.tick(6_000);
    assert.equal(filter.isDuplicate(recall(2)), true, 'a dropped repeat does not extend the window');
    clock.tick(4_001);
    assert.equal(filter.isDuplicate(recall(3)), false);
    clock.tick(1_000);
    assert.equal(filter.isDuplicate(recall(4)), true);
    assert.equal(filter.dropped, 2);
  });

  it('lets a repeat through once the window is over, whether or not what it saw has been let go yet', (t) => {
    const clock = mockClock(t);
    const filter = new DuplicateFilter(300);
    assert.equal(filter.isDuplicate(recall(1)), false);
    clock.tick(301);
    assert.equal(filter.isDuplicate(recall(2)), false, 'past the window');
    clock.tick(100);
    assert.equal(filter.isDuplicate(recall(3)), true, 'within the new one');
  });

  it('keeps what it saw for a full window however the generations of what it keeps fall', (t) => {
    const clock = mockClock(t);
    const filter = new DuplicateFilter(10_000);
    assert.equal(filter.isDuplicate(recall(1)), false);
    clock.tick(9_999);
    assert.equal(filter.isDuplicate(recall(2, { message_id: 2 })), false, 'seen at the end of the first generation');
    clock.tick(1);
    assert.equal(filter.isDuplicate(recall(3)), true, 'the first, exactly a window later');
    clock.tick(9_999);
    assert.equal(filter.isDuplicate(recall(4, { message_id: 2 })), true, 'the second, exactly a window later');
    clock.tick(1);
    assert.equal(filter.isDuplicate(recall(5, { message_id: 2 })), false, 'the second, past its window');
    clock.tick(30_000);
    assert.equal(filter.isDuplicate(recall(6)), false, 'after a long quiet');
    assert.equal(filter.dropped, 2);
  });

  it('is off with a window of 0, and forgets what it saw when turned off', (t) => {
    mockClock(t);
    const filter = new DuplicateFilter(0);
    assert.equal(filter.isDuplicate(recall(1)), false);
    assert.equal(filter.isDuplicate(recall(1)), false);
    filter.configure(10_000);
    assert.equal(filter.isDuplicate(recall(1)), false);
    filter.configure(0);
    filter.configure(10_000);
    assert.equal(filter.isDuplicate(recall(1)), false);
    assert.equal(filter.dropped, 0);
  });
});

describe('hash53', () => {
  it('changes with any one byte, wherever it is, but not within the range it skips', () => {
    const event = recall(1700000000);
    const hashes = new Set<number>([hash53(event)]);
    for (let i = 0; i < event.length; i++) {
      const changed = Buffer.from(event);
      changed[i] = changed[i]! ^ 1;
      hashes.add(hash53(changed));
    }
    assert.equal(hashes.size, event.length + 1);
    const time = event.indexOf('1700000000');
    const other = Buffer.from(event.toString().replace('1700000000', '1700000999'));
    assert.equal(hash53(event, time, time + 10), hash53(other, time, time + 10));
    assert.notEqual(hash53(event), hash53(other));
  });

  it('tells apart 200,000 events that differ in a counter, and gives integers JavaScript holds exactly', () => {
    const hashes = new Set<number>();
    for (let n = 0; n < 200_000; n++) {
      const hash = hash53(Buffer.from(`{"post_type":"message","message_id":${n},"message":"hello"}`));
      assert.ok(Number.isSafeInteger(hash) && hash >= 0);
      hashes.add(hash);
    }
    assert.equal(hashes.size, 200_000);
  });
});
