// Backoff: exponential ceilings with full jitter, a cap, a reset; and the reconnect loop built on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../src/backoff.ts';
import { createLogger } from '../src/log.ts';
import { Reconnector } from '../src/reconnector.ts';
import { waitFor } from './helpers.ts';

describe('backoff', () => {
  it('doubles the ceiling from 1 s up to the cap', () => {
    const top = new Backoff({ base: 1000, cap: 30_000, random: () => 0.999999 });
    const delays = Array.from({ length: 8 }, () => top.next());
    assert.deepEqual(delays, [999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('draws each delay uniformly below the ceiling (full jitter)', () => {
    let i = 0;
    const draws = [0, 0.5, 0.25];
    const jittered = new Backoff({ base: 1000, cap: 30_000, random: () => draws[i++]! });
    assert.deepEqual([jittered.next(), jittered.next(), jittered.next()], [0, 1000, 1000]);
    const real = new Backoff({ base: 1000, cap: 30_000 });
    for (let n = 0; n < 200; n++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** n);
      const d = real.next();
      assert.ok(d >= 0 && d < ceiling, `delay ${d} below ${ceiling}`);
    }
  });

  it('starts over after a reset', () => {
    const b = new Backoff({ base: 1000, cap: 30_000, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    b.reset();
    assert.equal(b.next(), 500);
  });
});

describe('reconnector', { timeout: 10_000 }, () => {
  const quiet = createLogger('error', () => {});

  it('keeps at most one attempt pending however often it is told to retry', async () => {
    let attempts = 0;
    const r = new Reconnector('x', () => attempts++, { base: 50, cap: 50, stableAfter: 60_000, random: () => 0.999 }, quiet);
    for (let i = 0; i < 100; i++) r.failed('refused');
    await new Promise((res) => setTimeout(res, 150));
    assert.equal(attempts, 1);
    r.stop();
  });

  it('starts from the first delay again only after a link stayed up long enough', async () => {
    const times: number[] = [];
    const r = new Reconnector('x', () => times.push(Date.now()), { base: 40, cap: 1000, stableAfter: 100, random: () => 0.999 }, quiet);
    const waitAttempt = (n: number) => waitFor(() => times.length >= n, `attempt ${n}`);
    let mark = Date.now();
    r.failed('a');
    await waitAttempt(1);
    r.failed('b');
    await waitAttempt(2);
    r.failed('c'); // third delay: ceiling 160
    await waitAttempt(3);
    assert.ok(times[2]! - times[1]! >= 140, `third delay ${times[2]! - times[1]!} ms`);
    r.up();
    r.lost(); // up for ~0 ms: no reset, ceiling 320
    mark = Date.now();
    await waitAttempt(4);
    assert.ok(times[3]! - mark >= 280, `a short-lived link keeps backing off (${times[3]! - mark} ms)`);
    r.up();
    await new Promise((res) => setTimeout(res, 120));
    r.lost(); // stayed up past stableAfter: back to a 40 ms ceiling
    mark = Date.now();
    await waitAttempt(5);
    assert.ok(times[4]! - mark < 100, `a stable link resets the backoff (${times[4]! - mark} ms)`);
    r.stop();
  });
});
