// Faults at start: a port already taken, and an implementation that is not there yet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeImplementation } from '../fake-impl.ts';
import { busyPort, freePort, runRelay, TestClient, waitFor } from '../helpers.ts';
import { receivedIds, sentIds, tally } from './tally.ts';

describe('fault: at start', { timeout: 30_000 }, () => {
  it('exits 1 naming the endpoint whose port is taken, for each kind of listener', async () => {
    const { busy: taken, blocker } = await busyPort();
    const free = async () => `127.0.0.1:${await freePort()}`;
    try {
      for (const [args, name] of [
        [['--admin', taken, '--ws', await free()], 'admin endpoint'],
        [['--http', taken, '--ws', await free(), '--admin', await free()], 'HTTP API server'],
        [['--upstream-listen', taken, '--ws', await free(), '--admin', await free()], 'upstream reverse WebSocket listener'],
      ] as const) {
        const relay = runRelay([...args]);
        assert.equal(await relay.exited, 1, `${name}: exit code`);
        assert.match(relay.output(), new RegExp(`${name} on ${taken.replace(/\./g, '\\.')}: the port is already in use`));
      }
      console.log(
        'fault port in use at start: sent 0, delivered 0, lost 0, duplicated 0 (nothing starts: exit 1 naming the admin, HTTP API or upstream listener)',
      );
    } finally {
      blocker.close();
    }
  });

  it('serves clients and says why on /healthz while the implementation is unreachable, then picks it up', async () => {
    const fake = await FakeImplementation.start();
    await fake.kill();
    const [ws, admin] = [await freePort(), await freePort()];
    const relay = runRelay([
      '--upstream',
      fake.url,
      '--ws',
      `127.0.0.1:${ws}`,
      '--admin',
      `127.0.0.1:${admin}`,
      '--reconnect-max',
      '300',
      '--hold',
      '500',
    ]);
    try {
      await waitFor(() => /health: /.test(relay.output()), 'the banner', 10_000);
      const client = await TestClient.connect(`ws://127.0.0.1:${ws}/`);
      const health = await fetch(`http://127.0.0.1:${admin}/healthz`);
      assert.equal(health.status, 503);
      const body = (await health.json()) as { reason: string };
      assert.match(body.reason, /never connected; cannot reach ws:\/\/127\.0\.0\.1:\d+\/: connect ECONNREFUSED/);
      const early = await client.call('get_status', {}, 'early', 15_000);
      assert.equal(early.retcode, 1502, 'a call answered "upstream not connected" after the hold time');
      await fake.restart();
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect once the bot is known', 10_000);
      assert.equal((await fetch(`http://127.0.0.1:${admin}/healthz`)).status, 200);
      const sent = fake.emit(5);
      await client.waitForFrames(() => client.events().length === 5, 'events once it is there');
      const result = tally('implementation unreachable at start, then there', sentIds(sent), receivedIds(client));
      assert.equal(result.lost + result.duplicated, 0);
      console.log(`fault unreachable upstream at start: clients served, /healthz 503 "${body.reason}", then 200`);
      client.close();
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
      await fake.stop();
    }
  });
});
