// Reconnector on its own, with a mocked clock and a fixed draw: one attempt pending at a time, the backoff
// growing and starting over after a stable link, a long outage logged as one warning and a summary a
// minute, and stop. test/upstream.test.ts and test/reverse-ws.test.ts show reconnecting over real sockets.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type ReconnectOptions, Reconnector } from '../../src/reconnector.ts';
import { mockClock, recordingLogger } from './kit.ts';

/** Each delay is half its ceiling: 500, 1000, 2000 ... up to half the cap. */
const OPTIONS: ReconnectOptions = { base: 1000, cap: 8000, stableAfter: 10_000, random: () => 0.5 };

/** `onAttempt` plays the link: fail again, come up, or nothing (the test decides later). */
function setup(t: TestContext, options: Partial<ReconnectOptions> = {}, onAttempt: (n: number) => void = () => {}) {
  const clock = mockClock(t);
  const { log, records, messages } = recordingLogger();
  let attempts = 0;
  const reconnector = new Reconnector('upstream ws://127.0.0.1:3001/', () => onAttempt(++attempts), { ...OPTIONS, ...options }, log);
  /** The next attempt comes exactly `delay` ms from now. */
  const nextAttemptAfter = (delay: number) => {
    const before = attempts;
    clock.tick(delay - 1);
    assert.equal(attempts, before, `no attempt before ${delay} ms`);
    clock.tick(1);
    assert.equal(attempts, before + 1, `an attempt at ${delay} ms`);
  };
  return { clock, reconnector, records, messages, nextAttemptAfter, attempts: () => attempts };
}

describe('Reconnector', () => {
  it('keeps one attempt pending however often it is told, and takes one backoff step for it', (t) => {
    const { clock, reconnector, nextAttemptAfter, attempts } = setup(t);
    for (let i = 0; i < 100; i++) reconnector.failed('refused');
    reconnector.lost();
    nextAttemptAfter(500);
    clock.tick(10_000);
    assert.equal(attempts(), 1);
    reconnector.failed('refused');
    nextAttemptAfter(1000);
  });

  it('doubles the wait after each failed attempt, up to the cap', (t) => {
    const { reconnector, nextAttemptAfter } = setup(t, {}, () => reconnector.failed('refused'));
    reconnector.failed('refused');
    for (const delay of [500, 1000, 2000, 4000, 4000, 4000]) nextAttemptAfter(delay);
  });

  it('starts from the first delay again only after a link stayed up for stableAfter', (t) => {
    const { clock, reconnector, nextAttemptAfter } = setup(t);
    reconnector.failed('refused');
    nextAttemptAfter(500);
    reconnector.failed('refused');
    nextAttemptAfter(1000);
    reconnector.up();
    clock.tick(9999);
    reconnector.lost();
    nextAttemptAfter(2000); // up 9.999 s: the outage goes on backing off
    reconnector.up();
    clock.tick(10_000);
    reconnector.lost();
    nextAttemptAfter(500);
    reconnector.failed('refused');
    nextAttemptAfter(1000);
    reconnector.up();
    clock.tick(10_000);
    reconnector.failed('HTTP 502'); // a link that works by attempts (HTTP POST) fails one instead
    nextAttemptAfter(500);
  });

  it('logs a long outage as one warning, a summary a minute and one line when it ends', (t) => {
    // A constant 5 s between attempts: attempt 13 comes 60 s after the first failure.
    const { reconnector, records, messages, clock } = setup(t, { base: 10_000, cap: 10_000 }, (n) =>
      n < 30 ? reconnector.failed(`refused #${n + 1}`) : reconnector.up(),
    );
    reconnector.failed('refused #1');
    assert.equal(reconnector.lastFailure, 'refused #1');
    for (let n = 1; n <= 30; n++) clock.tick(5000);
    assert.deepEqual(messages('warn'), [
      'cannot reach upstream ws://127.0.0.1:3001/: refused #1; retrying with backoff (at most 10000 ms apart)',
      'still cannot reach upstream ws://127.0.0.1:3001/: 13 attempts failed over 60 s; last error: refused #13',
      'still cannot reach upstream ws://127.0.0.1:3001/: 25 attempts failed over 120 s; last error: refused #25',
    ]);
    assert.equal(messages('debug').length, 27, 'the other attempts at debug level only');
    assert.equal(messages('debug')[0], 'attempt 2 to reach upstream ws://127.0.0.1:3001/ failed: refused #2');
    assert.deepEqual(records.at(-1), {
      level: 'info',
      msg: 'upstream ws://127.0.0.1:3001/ reachable again after 30 failed attempt(s) over 150.0 s',
    });
    assert.equal(reconnector.lastFailure, undefined);
    reconnector.lost();
    clock.tick(5000);
    assert.equal(messages('warn').length, 3, 'a lost link is not a failed attempt');
    reconnector.failed('refused again');
    assert.match(messages('warn')[3]!, /^cannot reach .*: refused again;/, 'a new outage starts its own series');
  });

  it('is up from up() until lost() or failed()', (t) => {
    const { reconnector } = setup(t);
    assert.equal(reconnector.isUp, false, 'not before the first up()');
    reconnector.up();
    assert.equal(reconnector.isUp, true);
    reconnector.lost();
    assert.equal(reconnector.isUp, false);
    reconnector.up();
    reconnector.failed('HTTP 502');
    assert.equal(reconnector.isUp, false);
  });

  it('makes no attempt once stopped, pending or asked for, and announces no retry', (t) => {
    const { clock, reconnector, attempts, messages } = setup(t);
    reconnector.failed('refused');
    reconnector.stop();
    reconnector.up();
    reconnector.failed('refused');
    assert.equal(reconnector.isUp, false, 'a failure after stop still counts it down');
    reconnector.lost();
    clock.tick(60_000);
    assert.equal(attempts(), 0);
    assert.equal(messages('warn').length, 1, 'only the failure before stop');
    assert.equal(messages('debug').length, 0);
  });
});
