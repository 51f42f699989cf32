// Send limits on their own: reading "COUNT/DURATION", which limits a call comes under, and the sliding window.
// test/unit/send-queue.test.ts shows the windows at work; test/send-limits.test.ts over real sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRate, limitKeys, parseRate, SlidingWindow } from '../../src/send-limit.ts';

describe('parseRate and formatRate', () => {
  it('reads COUNT/DURATION in ms, s, m and h, a bare unit meaning one of it', () => {
    assert.deepEqual(parseRate('20/60s'), { count: 20, per: 60_000 });
    assert.deepEqual(parseRate('5/10s'), { count: 5, per: 10_000 });
    assert.deepEqual(parseRate('1/500ms'), { count: 1, per: 500 });
    assert.deepEqual(parseRate('30/m'), { count: 30, per: 60_000 });
    assert.deepEqual(parseRate(' 3 / 1.5s '), { count: 3, per: 1500 });
    assert.deepEqual(parseRate('100/2h'), { count: 100, per: 7_200_000 });
  });

  it('refuses what is not a rate, a zero count and a zero duration', () => {
    for (const bad of ['', '5', '5/10', '5 per 10s', '0/10s', '5/0s', '-1/1s', '5/10d', '5/s/s']) {
      assert.equal(parseRate(bad), undefined, bad);
    }
  });

  it('writes a rate back in its largest whole unit', () => {
    assert.equal(formatRate({ count: 5, per: 10_000 }), '5/10s');
    assert.equal(formatRate({ count: 20, per: 60_000 }), '20/1m');
    assert.equal(formatRate({ count: 1, per: 1500 }), '1/1500ms');
  });
});

describe('limitKeys', () => {
  const keys = (action: string, params: Record<string, unknown>) => limitKeys({ action, params });

  it('puts every send under the account, and under its group or private peer', () => {
    assert.deepEqual(keys('send_group_msg', { group_id: 123, message: 'x' }), ['account', 'group:123']);
    assert.deepEqual(keys('send_group_forward_msg', { group_id: '123', messages: [] }), ['account', 'group:123']);
    assert.deepEqual(keys('send_private_msg', { user_id: 9 }), ['account', 'private:9']);
    assert.deepEqual(keys('send_like', { user_id: 9, times: 10 }), ['account', 'private:9']);
  });

  it('takes send_msg by its message_type, or by the id it carries', () => {
    assert.deepEqual(keys('send_msg', { message_type: 'group', group_id: 5, user_id: 9 }), ['account', 'group:5']);
    assert.deepEqual(keys('send_msg', { message_type: 'private', user_id: 9 }), ['account', 'private:9']);
    assert.deepEqual(keys('send_msg', { group_id: 5 }), ['account', 'group:5']);
    assert.deepEqual(keys('send_msg', { user_id: 9 }), ['account', 'private:9']);
  });

  it('counts a temporary chat from a group under the user, and a send that names no one under the account only', () => {
    assert.deepEqual(keys('send_private_msg', { user_id: 9, group_id: 5 }), ['account', 'private:9']);
    assert.deepEqual(keys('send_group_msg', {}), ['account']);
    assert.deepEqual(limitKeys({ action: 'send_msg' }), ['account']);
  });
});

describe('SlidingWindow', () => {
  it('lets COUNT go at once, then the next only when the oldest of the last COUNT leaves the window', () => {
    const rate = { count: 3, per: 1000 };
    const window = new SlidingWindow();
    assert.equal(window.freeAt(rate), -Infinity);
    for (const at of [0, 100, 200]) window.record(at, rate);
    assert.equal(window.freeAt(rate), 1000);
    window.record(1000, rate);
    assert.equal(window.freeAt(rate), 1100);
    assert.equal(window.freeAt({ count: 5, per: 1000 }), -Infinity, 'a larger COUNT after a reload has room');
  });

  it('sent greedily, never puts more than COUNT in any window of DURATION (a bucket would let 2×COUNT through the first)', () => {
    const rate = { count: 5, per: 10_000 };
    const window = new SlidingWindow();
    const sent: number[] = [];
    for (let now = 0; sent.length < 50; now += 37) {
      while (window.freeAt(rate) <= now && sent.length < 50) {
        window.record(now, rate);
        sent.push(now);
      }
    }
    for (let i = 0; i + rate.count < sent.length; i++)
      assert.ok(sent[i + rate.count]! - sent[i]! >= rate.per, `sends ${i}..${i + rate.count}`);
    assert.ok(sent.at(-1)! < 9 * (rate.per + 37), 'and no slower than that (each window starts at most one step late)');
  });

  it('is idle once its newest send has left the window', () => {
    const rate = { count: 2, per: 1000 };
    const window = new SlidingWindow();
    assert.ok(window.idle(0, rate));
    window.record(500, rate);
    assert.ok(!window.idle(1499, rate));
    assert.ok(window.idle(1500, rate));
  });
});
