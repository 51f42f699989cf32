// EventBuffer on its own, with a mocked clock: the count, byte and age bounds, what is dropped and said,
// and taking events out and putting them back. test/buffering.test.ts shows the same over real sockets.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type BufferLimits, EventBuffer } from '../../src/event-buffer.ts';
import { Spool } from '../../src/spool.ts';
import { mockClock, recordingLogger } from './kit.ts';

const LIMITS: BufferLimits = { events: 3, bytes: 1000, age: 10_000 };

function setup(t: TestContext, limits: Partial<BufferLimits> = {}) {
  const clock = mockClock(t);
  const { log, records } = recordingLogger();
  const buffer = new EventBuffer('client "bot"', { ...LIMITS, ...limits }, log);
  const push = (...texts: string[]) => {
    for (const text of texts) buffer.push(text);
  };
  /** Every event left, oldest first (taking them). */
  const texts = () => buffer.takeAll().map((e) => e.text);
  return { clock, buffer, records, push, texts };
}

describe('EventBuffer: bounds', () => {
  it('keeps the newest events up to the count, drops the oldest, counts them and warns once', (t) => {
    const { buffer, records, push, texts } = setup(t);
    push('e1', 'e2', 'e3', 'e4', 'e5');
    assert.equal(buffer.size, 3);
    assert.equal(buffer.dropped, 2);
    assert.deepEqual(records, [
      {
        level: 'warn',
        msg: 'client "bot": its buffer is over 3 events or 1000 bytes: dropping the oldest events (counted; totals when it is back)',
      },
    ]);
    assert.deepEqual(texts(), ['e3', 'e4', 'e5']);
  });

  it('counts bytes, not characters, and drops an event bigger than the whole bound', (t) => {
    const { buffer, push, texts } = setup(t, { events: 100, bytes: 10 });
    push('汉字', 'ab'); // 6 + 2 bytes
    assert.equal(buffer.dropped, 0);
    push('汉'); // 11 bytes: the oldest goes
    assert.equal(buffer.dropped, 1);
    assert.deepEqual(texts(), ['ab', '汉']);
    push('x'.repeat(11));
    assert.equal(buffer.size, 0, 'an event over the bound is not kept, nor anything before it');
    assert.equal(buffer.dropped, 2);
  });

  it('drops events older than the age bound, and keeps one exactly that old', (t) => {
    const { clock, buffer, records, push } = setup(t);
    push('old');
    clock.tick(4000);
    push('young');
    clock.tick(6000);
    assert.equal(buffer.peek(), 'old', '10 s old: still kept');
    clock.tick(1);
    assert.equal(buffer.peek(), 'young');
    assert.equal(buffer.dropped, 1);
    assert.equal(records[0]!.msg, 'client "bot": its buffer is over 10 s: dropping the oldest events (counted; totals when it is back)');
    clock.tick(4000);
    assert.equal(buffer.shift(), undefined);
    assert.equal(buffer.dropped, 2);
    assert.equal(records.length, 1, 'one warning per absence');
  });
});

describe('EventBuffer: taking events and putting them back', () => {
  it('peeks without taking, shifts the oldest with its size and time, and puts one back in front', (t) => {
    const { clock, buffer, push, texts } = setup(t);
    assert.equal(buffer.peek(), undefined);
    push('a');
    clock.tick(5);
    push('bb');
    assert.equal(buffer.peek(), 'a');
    assert.equal(buffer.size, 2);
    const a = buffer.shift()!;
    assert.deepEqual(a, { text: 'a', bytes: 1, at: Date.now() - 5 });
    buffer.unshift(a);
    assert.deepEqual(texts(), ['a', 'bb']);
  });

  it('applies the bounds again to an event put back: it is the oldest, so it goes first', (t) => {
    const { clock, buffer, push, texts } = setup(t);
    push('a', 'b', 'c');
    const a = buffer.shift()!;
    push('d'); // full again while `a` was out
    buffer.unshift(a);
    assert.deepEqual(texts(), ['b', 'c', 'd']);
    assert.equal(buffer.dropped, 1);
    push('e');
    const e = buffer.shift()!;
    clock.tick(10_001);
    buffer.unshift(e);
    assert.equal(buffer.size, 0, 'one that aged out while it was away is dropped');
    assert.equal(buffer.dropped, 2);
  });

  it('stays in order and keeps its byte count through many pushes and shifts', (t) => {
    const { buffer, push, texts } = setup(t, { events: 10_000, bytes: 4000 });
    const event = (n: number) => String(n).padStart(4, '0'); // 4 bytes
    for (let n = 0; n < 3000; n++) {
      push(event(n));
      if (buffer.size > 500) buffer.shift();
    }
    buffer.unshift(buffer.shift()!);
    for (let n = 3000; n < 3500; n++) push(event(n));
    assert.equal(buffer.dropped, 0, '1000 events of 4 bytes fit exactly');
    push(event(3500));
    assert.equal(buffer.dropped, 1);
    assert.deepEqual(
      texts().map(Number),
      Array.from({ length: 1000 }, (_, i) => 2501 + i),
    );
  });

  it('takes every fresh event, oldest first, leaving the expired ones behind as dropped', (t) => {
    const { clock, buffer, push } = setup(t);
    push('stale');
    clock.tick(5000);
    push('a', 'b');
    clock.tick(5001);
    assert.deepEqual(
      buffer.takeAll().map((e) => e.text),
      ['a', 'b'],
    );
    assert.equal(buffer.size, 0);
    assert.equal(buffer.dropped, 1);
  });

  it('adopts a predecessor’s events as old as they are, under its own bounds', (t) => {
    const { clock, buffer, push, texts } = setup(t);
    const before = new EventBuffer('old endpoint', { events: 100, bytes: 1000, age: 60_000 }, recordingLogger().log);
    for (const text of ['e1', 'e2', 'e3', 'e4']) {
      before.push(text);
      clock.tick(3000);
    }
    // Now 12, 9, 6 and 3 s old: 10 s and 3 events are this buffer's bounds.
    buffer.adopt(before.takeAll());
    assert.equal(buffer.dropped, 1);
    assert.equal(buffer.peek(), 'e2');
    clock.tick(1001);
    push('e5');
    assert.deepEqual(texts(), ['e3', 'e4', 'e5'], 'e2 aged out on its own clock');
  });
});

describe('EventBuffer: saying what a returning target gets', () => {
  it('says nothing when nothing was kept or lost, what it replays when nothing was lost, and warns with what was', (t) => {
    const { buffer, records, push } = setup(t);
    buffer.replaying();
    assert.deepEqual(records, []);
    push('a');
    buffer.replaying();
    assert.deepEqual(records.at(-1), { level: 'info', msg: 'client "bot" is back: replaying 1 buffered event(s)' });
    buffer.takeAll();
    push('b', 'c', 'd', 'e', 'f');
    buffer.replaying();
    assert.deepEqual(records.at(-1), {
      level: 'warn',
      msg: 'client "bot" is back: replaying 3 buffered event(s); 2 older event(s) were dropped while it was away',
    });
  });

  it('counts each absence on its own, and every drop in the total', (t) => {
    const { buffer, records, push } = setup(t);
    push('a', 'b', 'c', 'd');
    buffer.replaying();
    buffer.takeAll();
    records.length = 0;
    push('e', 'f', 'g', 'h', 'i');
    assert.equal(records.filter((r) => r.msg.includes('dropping the oldest')).length, 1, 'a new absence warns again');
    buffer.takeAll();
    buffer.replaying();
    assert.match(records.at(-1)!.msg, /replaying 0 buffered event\(s\); 2 older event\(s\) were dropped/);
    assert.equal(buffer.dropped, 3);
    buffer.replaying();
    assert.equal(records.length, 2, 'the count starts over once reported');
  });
});

describe('EventBuffer: a target gone for good', () => {
  it('says how many kept events it never gets, and nothing when none were kept', (t) => {
    const { buffer, records, push } = setup(t);
    buffer.abandon();
    assert.deepEqual(records, []);
    push('a', 'b');
    buffer.abandon();
    assert.deepEqual(records, [{ level: 'warn', msg: '2 kept event(s) for client "bot" not delivered' }]);
  });
});

describe('EventBuffer with a spool', () => {
  function spooled(t: TestContext, limits: Partial<BufferLimits> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'buffer-spool-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const open = () => new Spool({ dir, fsync: 100, maxAge: 600_000 }, recordingLogger().log);
    const spool = open();
    const buffer = new EventBuffer('client "bot"', { ...LIMITS, ...limits, spool }, recordingLogger().log, 'ws 127.0.0.1:6710 /bot');
    /** What a restarted relay's buffer for the same target starts with. */
    const afterRestart = () => {
      spool.close();
      const again = new EventBuffer(
        'client "bot"',
        { ...LIMITS, ...limits, spool: open() },
        recordingLogger().log,
        'ws 127.0.0.1:6710 /bot',
      );
      again.recover();
      return again.takeAll().map((e) => e.text);
    };
    return { buffer, afterRestart };
  }

  it('keeps on disk what it keeps in memory: taken out or dropped, an event is not replayed after a restart', (t) => {
    mockClock(t);
    const { buffer, afterRestart } = spooled(t);
    for (const text of ['a', 'b', 'c', 'd']) buffer.push(text); // a is dropped (3 at most)
    assert.equal(buffer.shift()?.text, 'b');
    assert.deepEqual(afterRestart(), ['c', 'd']);
  });

  it('keeps again an event put back, in its place, and not the relay’s own events', (t) => {
    mockClock(t);
    const { buffer, afterRestart } = spooled(t);
    buffer.push('lifecycle', false);
    buffer.push('a');
    buffer.push('b');
    buffer.shift();
    const a = buffer.shift()!;
    buffer.unshift(a);
    assert.deepEqual(afterRestart(), ['a', 'b']);
  });

  it('forgets on disk what it discards, and leaves on disk what it hands to its successor', (t) => {
    mockClock(t);
    const first = spooled(t);
    first.buffer.push('a');
    first.buffer.takeAll();
    assert.deepEqual(first.afterRestart(), ['a']);
    const second = spooled(t);
    second.buffer.push('a');
    second.buffer.discard();
    assert.deepEqual(second.afterRestart(), []);
  });

  it('recovers under its own bounds, the age counted from when each event was first kept', (t) => {
    const clock = mockClock(t);
    const { buffer, afterRestart } = spooled(t);
    buffer.push('old');
    clock.tick(6000);
    buffer.push('young');
    clock.tick(5000);
    assert.deepEqual(afterRestart(), ['young']);
  });
});
