// Faults of the implementation: killed outright and restarted on the same port, or frozen and thawed.
// Clients stay connected throughout; every event the implementation got out reaches them once, in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort, startTestRelay, TestClient, waitFor } from '../helpers.ts';
import { ImplProcess, inOrder, receivedIds, tally } from './tally.ts';

describe('fault: the implementation', { timeout: 40_000 }, () => {
  it('is SIGKILLed mid-stream and restarted on the same port', async () => {
    const port = await freePort();
    let impl = await ImplProcess.start(port, 1);
    const relay = await startTestRelay(`ws://127.0.0.1:${port}`, { reconnectMax: 300 });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      const before = await impl.emit(300);
      impl.emitAndForget(300); // in the middle of writing these, it dies
      await new Promise((r) => setTimeout(r, 5));
      impl.signal('SIGKILL');
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the relay to see the death');
      await new Promise((r) => setTimeout(r, 300)); // a few refused reconnects
      impl = await ImplProcess.start(port, 10_001);
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the reconnect', 10_000);
      const after = await impl.emit(300);
      await client.waitForFrames(() => receivedIds(client).includes(after.at(-1)!), 'the last event');
      const got = receivedIds(client);
      const result = tally('implementation SIGKILLed mid-stream', [...before, ...after], got);
      assert.equal(result.lost, 0);
      assert.equal(result.duplicated, 0);
      assert.ok(inOrder(got), 'in the order sent');
      assert.equal(client.ws.readyState, client.ws.OPEN, 'the client never noticed');
      assert.equal(relay.relay.hub.health().reconnects, 1);
    } finally {
      client.close();
      await relay.stop();
      await impl.stop();
    }
  });

  it('is frozen (SIGSTOP) for several ping intervals, noticed within ping + timeout, and picked up after SIGCONT', async () => {
    const port = await freePort();
    const impl = await ImplProcess.start(port, 1);
    const relay = await startTestRelay(`ws://127.0.0.1:${port}`, { ping: 300, pingTimeout: 300, reconnectMax: 300 });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      const before = await impl.emit(200);
      await client.waitForFrames(() => receivedIds(client).length === 200, 'events before the freeze');
      const frozenAt = Date.now();
      impl.signal('SIGSTOP');
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the relay to notice', 3000);
      const noticed = Date.now() - frozenAt;
      console.log(`fault implementation frozen: noticed after ${noticed} ms (ping 300 + timeout 300)`);
      assert.ok(noticed <= 300 + 300 + 200, `noticed after ${noticed} ms`);
      await new Promise((r) => setTimeout(r, 1500)); // frozen for several ping intervals
      impl.signal('SIGCONT');
      await waitFor(() => relay.relay.hub.health().status === 'up', 'a new link after the thaw', 10_000);
      const after = await impl.emit(200);
      await client.waitForFrames(() => receivedIds(client).includes(after.at(-1)!), 'events after the thaw');
      const got = receivedIds(client);
      const result = tally('implementation frozen and thawed', [...before, ...after], got);
      assert.equal(result.lost, 0);
      assert.equal(result.duplicated, 0);
      assert.ok(inOrder(got));
      assert.equal(client.ws.readyState, client.ws.OPEN, 'the client was never disconnected');
      assert.ok(
        client.meta('heartbeat').some((h) => h.status.good === false),
        'its heartbeats said the link was down meanwhile',
      );
    } finally {
      client.close();
      await relay.stop();
      await impl.stop();
    }
  });
});
