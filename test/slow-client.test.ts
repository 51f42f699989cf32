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
});
