// HeartbeatWatchdog on its own, with a mocked clock: two heartbeats missed (with half an interval of grace)
// call for a probe, once. test/upstream.test.ts shows the probe and reconnect over a real socket.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HeartbeatWatchdog } from '../../src/upstream/heartbeat-watchdog.ts';
import { mockClock } from './kit.ts';

function setup(t: TestContext) {
  const clock = mockClock(t);
  let missed = 0;
  const watchdog = new HeartbeatWatchdog(() => missed++);
  return { clock, watchdog, missed: () => missed };
}

describe('HeartbeatWatchdog', () => {
  it('calls for a probe once two and a half announced intervals pass without a heartbeat, and only once', (t) => {
    const { clock, watchdog, missed } = setup(t);
    watchdog.beat(1000);
    clock.tick(2499);
    assert.equal(missed(), 0);
    clock.tick(1);
    assert.equal(missed(), 1);
    clock.tick(60_000);
    assert.equal(missed(), 1);
  });

  it('waits afresh from each heartbeat, by the interval it announces', (t) => {
    const { clock, watchdog, missed } = setup(t);
    watchdog.beat(1000);
    for (let i = 0; i < 10; i++) {
      clock.tick(2000);
      watchdog.beat(1000);
    }
    watchdog.beat(4000);
    clock.tick(9999);
    assert.equal(missed(), 0);
    clock.tick(1);
    assert.equal(missed(), 1);
  });

  it('stops watching when the implementation announces no heartbeats, or when told to', (t) => {
    const { clock, watchdog, missed } = setup(t);
    watchdog.beat(1000);
    watchdog.beat(0);
    clock.tick(60_000);
    watchdog.beat(1000);
    watchdog.stop();
    clock.tick(60_000);
    assert.equal(missed(), 0);
  });
});
