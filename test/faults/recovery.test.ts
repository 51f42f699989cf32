// Healing: an implementation on this machine that comes back is linked again within a second, however long it
// was away (what the retries cost is measured by npm run bench); clients hear the link go and come at once, not at their next heartbeat.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeImplementation } from '../fake-impl.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from '../helpers.ts';

/** The relay's own backoff, not the tests' fast one: 30 s cap, as operators run it. */
const AS_DEPLOYED = { reconnectMax: 30_000 };

/** Restart `fake` after `outage` ms away; how long after it listens again the relay has it up. */
async function relinkAfter(fake: FakeImplementation, relay: TestRelay, outage: number): Promise<number> {
  await new Promise((r) => setTimeout(r, outage));
  await fake.restart();
  const listening = performance.now();
  await waitFor(() => relay.relay.hub.health().status === 'up', 'the link back', 10_000);
  return performance.now() - listening;
}

describe('link healing', { timeout: 120_000 }, () => {
  it('links again within 1 s of a loopback implementation listening, after 5 s and after 45 s away, logging a summary meanwhile', async () => {
    const fakes = await Promise.all([FakeImplementation.start(), FakeImplementation.start()]);
    const relays = await Promise.all(fakes.map((fake) => startTestRelay(fake.url, AS_DEPLOYED)));
    try {
      await waitFor(() => relays.every((r) => r.relay.hub.health().status === 'up'), 'both links');
      await Promise.all(fakes.map((fake) => fake.kill()));
      const [short, long] = await Promise.all([relinkAfter(fakes[0]!, relays[0]!, 5_000), relinkAfter(fakes[1]!, relays[1]!, 45_000)]);
      assert.ok(short < 1000, `linked ${short.toFixed(0)} ms after a 5 s outage ended`);
      assert.ok(long < 1000, `linked ${long.toFixed(0)} ms after a 45 s outage ended`);
      const warnings = relays[1]!.logs.filter((l) => / WARN .*cannot reach/.test(l));
      assert.ok(warnings.length <= 2, `the 45 s of refused attempts are summarised: ${warnings.length} warnings`);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
      await Promise.all(fakes.map((fake) => fake.stop()));
    }
  });

  it('tells clients good=false within 1 s of the implementation dying, and good=true within 1 s of its return', async () => {
    const fake = await FakeImplementation.start();
    // Relay heartbeats only every 15 s: what arrives sooner is the readiness beat.
    const relay = await startTestRelay(fake.url, { ...AS_DEPLOYED, heartbeat: 15_000 });
    const client = await TestClient.connect(relay.wsUrl);
    const beats = () => client.meta('heartbeat').map((h) => h.status.good as boolean);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      await fake.kill();
      const died = performance.now();
      await client.waitForFrames(() => beats().includes(false), 'a good=false heartbeat', 1000);
      assert.ok(performance.now() - died < 1000);
      await fake.restart();
      const back = performance.now();
      await client.waitForFrames(() => beats().at(-1) === true, 'a good=true heartbeat', 1500);
      assert.ok(performance.now() - back < 1000, `good=true ${(performance.now() - back).toFixed(0)} ms after it listened`);
      assert.deepEqual(beats(), [false, true], 'one beat for each change');
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });
});
