// Fault: clients that never read. The others are not delayed, and the relay's memory stays bounded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { FakeImplementation } from '../fake-impl.ts';
import { freePort, runRelay, stuckClient, TestClient, waitFor } from '../helpers.ts';
import { receivedIds, tally } from './tally.ts';

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('fault: clients that never read', { timeout: 60_000 }, () => {
  it('keeps the relay process within its queue and buffer limits while 256 MB flow past two stuck clients', async () => {
    const fake = await FakeImplementation.start();
    const [ws, admin] = [await freePort(), await freePort()];
    const relay = runRelay([
      '--upstream',
      fake.url,
      '--ws',
      `127.0.0.1:${ws}`,
      '--admin',
      `127.0.0.1:${admin}`,
      '--queue-limit',
      String(1 << 20),
      '--buffer-bytes',
      String(8 << 20),
      '--log-level',
      'warn',
    ]);
    const stuck: Socket[] = [];
    let healthy: TestClient | undefined;
    try {
      await waitFor(() => fake.sockets.size === 1, 'the relay to connect', 10_000);
      healthy = await TestClient.connect(`ws://127.0.0.1:${ws}/`);
      await healthy.waitForFrames(() => healthy!.meta('lifecycle').length === 1, 'lifecycle');
      stuck.push(await stuckClient(`ws://127.0.0.1:${ws}/`), await stuckClient(`ws://127.0.0.1:${ws}/?client=stuck`));
      const baseline = rssMiB(relay.child.pid!);
      const padding = 'x'.repeat(32 * 1024);
      let peak = baseline;
      let slowest = 0;
      for (let batch = 0; batch < 80; batch++) {
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
        await healthy.waitForFrames(() => healthy!.events().length === (batch + 1) * 100, `batch ${batch}`, 10_000);
        slowest = Math.max(slowest, Date.now() - started);
        peak = Math.max(peak, rssMiB(relay.child.pid!));
      }
      await waitFor(() => (relay.output().match(/too slow/g) ?? []).length === 2, 'both stuck clients dropped as too slow');
      assert.ok(/client "stuck": its buffer is over/.test(relay.output()), 'the named one had its buffer capped, with one warning');
      console.log(
        `fault never-reading clients: 256 MB sent, healthy client got all 8000 events, slowest batch ${slowest} ms, relay RSS ${baseline.toFixed(0)} → peak ${peak.toFixed(0)} MiB`,
      );
      const result = tally(
        'never-reading clients, the healthy one',
        Array.from({ length: 8000 }, (_, i) => i),
        receivedIds(healthy),
      );
      assert.equal(result.lost + result.duplicated, 0);
      assert.ok(slowest < 3000, `the healthy client was not held up (slowest batch of 100: ${slowest} ms)`);
      // 1 MiB queue per stuck client and an 8 MiB buffer, plus garbage not yet collected. A relay that kept
      // everything for the two stuck clients would grow by over 500 MiB.
      assert.ok(peak - baseline < 250, `RSS grew by ${(peak - baseline).toFixed(0)} MiB`);
    } finally {
      for (const s of stuck) s.destroy();
      healthy?.close();
      relay.child.kill('SIGKILL');
      await fake.stop();
    }
  });
});
