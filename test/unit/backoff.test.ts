// Backoff: exponential ceilings with full jitter, a cap, a reset. The reconnect loop built on it is in
// reconnector.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../src/backoff.ts';

const draws = (backoff: Backoff, n: number) => Array.from({ length: n }, () => backoff.next());

describe('Backoff', () => {
  it('doubles the ceiling from 1 s up to the cap', () => {
    const top = new Backoff({ base: 1000, cap: 30_000, random: () => 0.999999 });
    assert.deepEqual(draws(top, 8), [999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('draws each delay uniformly below the ceiling (full jitter)', () => {
    let i = 0;
    const fixed = [0, 0.5, 0.25];
    const jittered = new Backoff({ base: 1000, cap: 30_000, random: () => fixed[i++]! });
    assert.deepEqual(draws(jittered, 3), [0, 1000, 1000]);
    const real = new Backoff({ base: 1000, cap: 30_000 });
    for (let n = 0; n < 200; n++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** n);
      const d = real.next();
      assert.ok(Number.isInteger(d) && d >= 0 && d < ceiling, `delay ${d} below ${ceiling}`);
    }
  });

  it('draws from Math.random unless given another source', (t) => {
    t.mock.method(Math, 'random', () => 0.25);
    assert.deepEqual(draws(new Backoff({ base: 1000, cap: 30_000 }), 3), [250, 500, 1000]);
  });

  it('keeps every delay under a cap below the base, from the first', () => {
    assert.deepEqual(draws(new Backoff({ base: 1000, cap: 300, random: () => 0.999999 }), 3), [299, 299, 299]);
  });

  it('starts over after a reset', () => {
    const b = new Backoff({ base: 1000, cap: 30_000, random: () => 0.5 });
    draws(b, 3);
    b.reset();
    assert.deepEqual(draws(b, 2), [500, 1000]);
  });

  it('keeps every delay at or above its floor, and under the ceiling', () => {
    const low = new Backoff({ base: 500, cap: 500, floor: 250, random: () => 0 });
    const high = new Backoff({ base: 500, cap: 500, floor: 250, random: () => 0.999999 });
    assert.deepEqual([...draws(low, 3), ...draws(high, 3)], [250, 250, 250, 499, 499, 499]);
    assert.deepEqual(
      draws(new Backoff({ base: 100, cap: 100, floor: 250, random: () => 0.5 }), 2),
      [100, 100],
      'a floor above the ceiling is the ceiling',
    );
  });
});
