// The admin endpoint: /healthz is 200 with the link up and 503 with the reason otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

describe('admin /healthz', { timeout: 15_000 }, () => {
  it('reports the link, self_id, clients, reconnects and uptime, and turns 503 with a reason when the link is down', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'self_id');
      const up = await fetch(`${relay.adminUrl}/healthz`);
      assert.equal(up.status, 200);
      const body = (await up.json()) as Record<string, any>;
      assert.equal(body.status, 'up');
      assert.equal(body.link.state, 'up');
      assert.equal(body.self_id, fake.selfId);
      assert.equal(body.nickname, 'fake-bot');
      assert.equal(body.clients, 1);
      assert.equal(body.reconnects, 0);
      assert.equal(typeof body.uptime_s, 'number');

      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the relay to see the drop');
      const down = await fetch(`${relay.adminUrl}/healthz`);
      assert.equal(down.status, 503);
      const why = (await down.json()) as Record<string, any>;
      assert.equal(why.link.state, 'down');
      assert.match(why.reason, /connection lost/);
      assert.equal(why.clients, 1, 'the client is still connected');

      await fake.restart();
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link to return');
      const again = (await (await fetch(`${relay.adminUrl}/healthz`)).json()) as Record<string, any>;
      assert.equal(again.reconnects, 1);
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });
});
