// A client that never reads: it is dropped at its queue limit, and it never delays the others.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOSE_TOO_SLOW } from '../src/downstream/ws-session.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, stuckClient, TestClient, waitFor } from './helpers.ts';

describe('slow clients', { timeout: 30_000 }, () => {
  it('drops a client that never reads and keeps delivering to the others without delay', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { queueLimit: 256 * 1024 });
    const stuck = await stuckClient(relay.wsUrl);
    const healthy = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().clients === 2 && relay.relay.hub.health().self_id !== null, 'both clients');
      // Time each batch through to the healthy client while the stuck one's buffers (kernel ones included) fill up.
      const padding = 'x'.repeat(16 * 1024);
      const batchTimes: number[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const started = Date.now();
        for (let i = 0; i < 100; i++) {
          fake.broadcast(
            JSON.stringify({
              time: 1,
              self_id: fake.selfId,
              post_type: 'message',
              message_type: 'private',
              message_id: batch * 100 + i,
              raw_message: padding,
            }),
          );
        }
        await healthy.waitForFrames(() => healthy.events().length === (batch + 1) * 100, `batch ${batch}`);
        batchTimes.push(Date.now() - started);
      }
      await waitFor(() => relay.logs.some((l) => /too slow, over 262144 bytes waiting/.test(l)), 'the slow client to be dropped');
      await waitFor(() => relay.relay.hub.health().clients === 1, 'the slow client to be gone');
      assert.equal(healthy.events().length, 2000, 'the healthy client got every event (32 MB)');
      assert.equal(healthy.ws.readyState, healthy.ws.OPEN);
      // Generous bound: a relay that waited on the stuck client would stall for good, not for milliseconds.
      assert.ok(Math.max(...batchTimes) < 2000, `slowest batch of 100 took ${Math.max(...batchTimes)} ms`);
      assert.ok(relay.logs.some((l) => l.includes(`close ${CLOSE_TOO_SLOW}`)));
    } finally {
      stuck.destroy();
      healthy.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('answers the calls of a client it drops as too slow, failed, ahead of the close', async () => {
    const fake = await FakeImplementation.start();
    fake.unanswered.add('get_group_list');
    // No pings: a client that does not read would be dropped as dead first.
    const relay = await startTestRelay(fake.url, { queueLimit: 64 * 1024, ping: 60_000, callTimeout: 10_000 });
    const slow = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null && slow.meta('lifecycle').length === 1, 'the client to be live');
      slow.send({ action: 'get_group_list', params: {}, echo: 'pending' });
      await waitFor(() => fake.calls.some((c) => c.action === 'get_group_list'), 'the call upstream');
      const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
      socket.pause();
      const padding = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 2000 && !relay.logs.some((l) => /too slow/.test(l)); i++) {
        fake.broadcast(JSON.stringify({ time: 1, self_id: fake.selfId, post_type: 'message', message_id: i, raw_message: padding }));
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
      }
      await waitFor(() => relay.logs.some((l) => /too slow/.test(l)), 'the client to be dropped as too slow');
      socket.resume();
      assert.equal((await slow.closed).code, CLOSE_TOO_SLOW);
      const reply = slow.replies().find((r) => r.echo === 'pending');
      assert.equal(reply?.status, 'failed', 'its pending call was answered before the close');
      assert.match(
        reply!.message,
        /the relay closed this connection \(too slow: outbound queue full\) before "get_group_list" was answered/,
      );
    } finally {
      slow.close();
      await relay.stop();
      await fake.stop();
    }
  });
});
