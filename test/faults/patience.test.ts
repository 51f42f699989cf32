// Client patience: a framework that stops for a while (a console stuck in QuickEdit selection, a blocking image
// download) is a living client, not a dead one. The relay waits --client-ping-timeout (60 s) before it drops it,
// while the implementation is still watched strictly; past that limit it is dropped, and a named client or a
// reverse target gets what was kept for it on return.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeImplementation, groupMessage } from '../fake-impl.ts';
import { startTestRelay, type TestRelay, waitFor } from '../helpers.ts';
import { FrameworkProcess, inOrder } from './tally.ts';

/** Pings every second, and the default client patience: a stall of tens of seconds spans many pings. */
const PATIENT = { ping: 1000, pingTimeout: 1000, clientPingTimeout: 60_000 };

/** Emit `count` numbered events over `ms`, from `first`; resolves with their numbers. */
async function trickle(fake: FakeImplementation, first: number, count: number, ms: number): Promise<number[]> {
  const numbers: number[] = [];
  for (let i = 0; i < count; i++) {
    numbers.push(first + i);
    fake.broadcast(groupMessage(fake.selfId, first + i));
    await new Promise((r) => setTimeout(r, ms / count));
  }
  return numbers;
}

const dropped = (relay: TestRelay) => relay.logs.filter((l) => /dropping the connection|closed: code/.test(l));

describe('client patience', { timeout: 120_000 }, () => {
  it('keeps a client stopped (SIGSTOP) for 20 s while 200 events flow, and it then has every event in order', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, PATIENT);
    const framework = await FrameworkProcess.forward(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().clients === 1 && relay.relay.hub.health().status === 'up', 'the client');
      framework.signal('SIGSTOP');
      const sent = await trickle(fake, 1, 200, 20_000);
      framework.signal('SIGCONT');
      await waitFor(() => framework.events().length >= 200, 'every event after SIGCONT', 10_000);
      assert.deepEqual(framework.events(), sent);
      assert.deepEqual(dropped(relay), [], 'not dropped');
      assert.equal(framework.lines('open').length, 1, 'one connection throughout');
    } finally {
      await framework.stop();
      await relay.stop();
      await fake.stop();
    }
  });

  it('drops a client stopped past the limit, and a named one then gets what was kept for it, in order', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { ...PATIENT, clientPingTimeout: 1500 });
    const framework = await FrameworkProcess.forward(`${relay.wsUrl}/?client=stalled`);
    try {
      await waitFor(() => relay.relay.hub.health().clients === 1 && relay.relay.hub.health().status === 'up', 'the client');
      framework.signal('SIGSTOP');
      await waitFor(() => dropped(relay).length > 0, 'the relay to drop it', 5000);
      const kept = await trickle(fake, 1, 20, 500);
      framework.signal('SIGCONT');
      await waitFor(() => framework.lines('open').length === 2, 'the framework to connect again', 5000);
      await waitFor(() => framework.events().length >= kept.length, 'the kept events', 5000);
      assert.deepEqual(framework.events(), kept, 'everything kept while it was away, in order, once');
    } finally {
      await framework.stop();
      await relay.stop();
      await fake.stop();
    }
  });

  it('waits out a framework that blocks its event loop for 17 s mid-stream, over forward and reverse WS: no drop, nothing lost', async () => {
    const fake = await FakeImplementation.start();
    const { framework: reverse, url } = await FrameworkProcess.reverse();
    const relay = await startTestRelay(fake.url, { ...PATIENT, reverse: [url] });
    const forward = await FrameworkProcess.forward(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().clients === 2 && relay.relay.hub.health().status === 'up', 'both frameworks');
      const before = await trickle(fake, 1, 10, 200);
      await waitFor(() => forward.events().length === 10 && reverse.events().length === 10, 'the first events');
      forward.block(17_000);
      reverse.block(17_000);
      const during = await trickle(fake, 11, 40, 17_000);
      await waitFor(() => forward.lines('unblocked').length === 1 && reverse.lines('unblocked').length === 1, 'both to unblock', 10_000);
      const after = await trickle(fake, 51, 10, 200);
      const all = [...before, ...during, ...after];
      await waitFor(() => forward.events().length >= 60 && reverse.events().length >= 60, 'every event at both', 10_000);
      for (const framework of [forward, reverse]) {
        assert.deepEqual(framework.events(), all);
        assert.ok(inOrder(framework.events()));
        assert.equal(framework.lines('open').length, 1, 'one connection throughout');
      }
      assert.deepEqual(dropped(relay), [], 'neither was dropped');
    } finally {
      await forward.stop();
      await reverse.stop();
      await relay.stop();
      await fake.stop();
    }
  });
});
