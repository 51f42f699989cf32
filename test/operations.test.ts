// Operating the relay: /metrics, /status.json, /healthz with degraded, and the admin token.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, validateConfig } from '../src/config.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

const health = async (adminUrl: string) => {
  const res = await fetch(`${adminUrl}/healthz`);
  return { code: res.status, body: (await res.json()) as Record<string, any> };
};

/** One sample of a metric (with labels in Prometheus text form), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('operations', { timeout: 30_000 }, () => {
  it('/metrics speaks Prometheus: link, events in and out per endpoint, buffers, calls and latency by action and outcome', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { callTimeout: 300 });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      fake.emit(7);
      await client.waitForFrames(() => client.events().length === 7, 'events');
      await client.call('send_group_msg', { group_id: 1, message: 'x' }, 1);
      fake.unanswered.add('get_group_list');
      await client.call('get_group_list', {}, 2);
      await client.call(`x${'y'.repeat(100)}`, {}, 3); // unknown to the fake: it answers 1404
      const res = await fetch(`${relay.adminUrl}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const endpoint = `{endpoint="ws://${relay.wsUrl.slice(5)}/ (WebSocket server: /, /api, /event)"}`;
      assert.equal(sample(text, 'onebot_relay_upstream_up', `{self_id="${fake.selfId}"}`), 1);
      assert.equal(sample(text, 'onebot_relay_health', '{status="up"}'), 1);
      assert.ok(sample(text, 'onebot_relay_events_received_total', `{self_id="${fake.selfId}"}`)! >= 7);
      assert.equal(sample(text, 'onebot_relay_events_delivered_total', endpoint), 7);
      assert.equal(sample(text, 'onebot_relay_clients', endpoint), 1);
      assert.equal(sample(text, 'onebot_relay_buffered_events', endpoint), 0);
      assert.equal(sample(text, 'onebot_relay_calls_total', '{action="send_group_msg",outcome="ok"}'), 1);
      assert.equal(
        sample(text, 'onebot_relay_calls_total', '{action="other",outcome="failed"}'),
        1,
        'an odd action name is counted as "other"',
      );
      assert.ok(!text.includes('yyyy'));
      assert.equal(sample(text, 'onebot_relay_calls_total', '{action="get_group_list",outcome="timeout"}'), 1);
      assert.equal(sample(text, 'onebot_relay_call_duration_seconds_count', '{action="get_group_list",outcome="timeout"}'), 1);
      assert.equal(
        sample(text, 'onebot_relay_call_duration_seconds_bucket', '{le="0.25",action="get_group_list",outcome="timeout"}'),
        0,
        'a 300 ms timeout is not under 0.25 s',
      );
      assert.ok(
        !/get_status|get_login_info/.test(
          text
            .split('\n')
            .filter((l) => l.startsWith('onebot_relay_calls_total'))
            .join('\n'),
        ),
        "the relay's own calls are not counted",
      );
      assert.match(text, /onebot_relay_process_resident_memory_bytes \d+/);

      const second = await TestClient.connect(relay.wsUrl);
      await second.waitForFrames(() => second.meta('lifecycle').length === 1, 'lifecycle');
      fake.emit(3);
      await second.waitForFrames(() => second.events().length === 3, 'events at the second client');
      client.close();
      await client.closed;
      await waitFor(() => relay.relay.hub.health().clients === 1, 'the first client gone');
      const left = await (await fetch(`${relay.adminUrl}/metrics`)).text();
      assert.equal(sample(left, 'onebot_relay_events_delivered_total', endpoint), 7 + 3 + 3, 'a client that left still counts');
      // More calls than are kept before they are handed to prom-client between two scrapes.
      await Promise.all(Array.from({ length: 300 }, (_, n) => second.call('get_msg', { message_id: n }, `m${n}`)));
      const many = await (await fetch(`${relay.adminUrl}/metrics`)).text();
      assert.equal(sample(many, 'onebot_relay_calls_total', '{action="get_msg",outcome="ok"}'), 300);
      assert.equal(sample(many, 'onebot_relay_call_duration_seconds_count', '{action="get_msg",outcome="ok"}'), 300);
      assert.equal(sample(many, 'onebot_relay_calls_total', '{action="send_group_msg",outcome="ok"}'), 1, 'nothing counted twice');
      second.close();

      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the drop');
      const after = await (await fetch(`${relay.adminUrl}/metrics`)).text();
      assert.equal(sample(after, 'onebot_relay_upstream_up', `{self_id="${fake.selfId}"}`), 0);
      assert.equal(sample(after, 'onebot_relay_health', '{status="down"}'), 1);
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('/status.json has the link, endpoints with their clients, rates, call latency per action and recent warnings', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(`${relay.wsUrl}/?client=nonebot`);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      fake.emit(3);
      await client.call('send_private_msg', { user_id: 1, message: 'x' }, 'a');
      await client.call('no_such_action', {}, 'b');
      const status = (await (await fetch(`${relay.adminUrl}/status.json`)).json()) as Record<string, any>;
      assert.equal(status.health.status, 'up');
      assert.equal(status.health.self_id, fake.selfId);
      assert.equal(status.health.nickname, 'fake-bot');
      assert.equal(status.endpoints.length, 1);
      const [nonebot] = status.endpoints[0].clients;
      assert.equal(nonebot.name, 'nonebot');
      assert.equal(nonebot.connected, true);
      assert.equal(nonebot.role, 'universal');
      assert.ok(nonebot.delivered >= 3);
      const byAction = Object.fromEntries(status.calls.map((c: any) => [c.action, c]));
      assert.equal(byAction.send_private_msg.count, 1);
      assert.equal(byAction.no_such_action.failures, 1);
      assert.equal(typeof byAction.send_private_msg.p99_ms, 'number');
      assert.ok(status.rates.events_per_s >= 0);
      client.close();
      await waitFor(() => relay.logs.some((l) => /disconnected/.test(l)), 'the client to leave');
      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the drop');
      const later = (await (await fetch(`${relay.adminUrl}/status.json`)).json()) as Record<string, any>;
      assert.ok(
        later.warnings.some((w: any) => /upstream down/.test(w.message)),
        'the drop is among the recent warnings',
      );
      const away = later.endpoints[0].clients.find((c: any) => c.name === 'nonebot');
      assert.equal(away.connected, false, 'a named client that left is listed as away');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('/healthz: up, then degraded after 3 send_* timeouts in a row, then up after a send succeeds', async () => {
    const fake = await FakeImplementation.start();
    // Eight sends to one group within seconds: no group limit, so that each reaches the implementation.
    const relay = await startTestRelay(fake.url, { callTimeout: 200, unhealthyAfter: 3, sendLimit: { group: 'off' } });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up');
      assert.equal((await health(relay.adminUrl)).code, 200);
      fake.unanswered.add('send_group_msg'); // online, but sends hang: NapCatQQ#869
      for (let i = 1; i <= 2; i++) await client.call('send_group_msg', { group_id: 1, message: `m${i}` }, i);
      assert.equal((await health(relay.adminUrl)).body.status, 'up', 'two failures are not yet degraded');
      await client.call('send_group_msg', { group_id: 1, message: 'm3' }, 3);
      const degraded = await health(relay.adminUrl);
      assert.equal(degraded.code, 503);
      assert.equal(degraded.body.status, 'degraded');
      assert.match(degraded.body.reason, /3 send calls in a row failed or timed out \(last: send_group_msg timed out\)/);
      assert.equal(degraded.body.link.state, 'up', 'the link itself is up');
      fake.unanswered.delete('send_group_msg');
      assert.equal((await client.call('send_group_msg', { group_id: 1, message: 'ok' }, 4)).status, 'ok');
      assert.equal((await health(relay.adminUrl)).body.status, 'up');

      // Degraded again, then the implementation restarts (what --on-unhealthy is for): a new link starts healthy.
      fake.unanswered.add('send_group_msg');
      for (let i = 5; i <= 7; i++) await client.call('send_group_msg', { group_id: 1, message: `m${i}` }, i);
      assert.equal((await health(relay.adminUrl)).body.status, 'degraded');
      fake.unanswered.delete('send_group_msg');
      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the drop');
      await fake.restart();
      await waitFor(() => relay.relay.hub.health().link.state === 'up', 'the link back');
      assert.equal((await health(relay.adminUrl)).body.status, 'up', 'failed sends before the restart do not count after it');
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('/healthz: degraded when the implementation says online: false, or stops answering the periodic probe', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { healthProbe: 150, pingTimeout: 150 });
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up');
      fake.broadcast(
        JSON.stringify({
          time: 1,
          self_id: fake.selfId,
          post_type: 'meta_event',
          meta_event_type: 'heartbeat',
          status: { online: false, good: true },
          interval: 60_000,
        }),
      );
      await waitFor(() => relay.relay.hub.health().status === 'degraded', 'degraded by online: false');
      assert.match(relay.relay.hub.health().reason!, /online: false/);
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the next probe saying online: true');
      fake.unanswered.add('get_status');
      await waitFor(() => relay.relay.hub.health().status === 'degraded', 'degraded by an unanswered probe');
      assert.match(relay.relay.hub.health().reason!, /did not answer the last get_status probe/);
      // Heartbeats still flowing do not clear it: only an answered probe does.
      fake.broadcast(
        JSON.stringify({
          time: 2,
          self_id: fake.selfId,
          post_type: 'meta_event',
          meta_event_type: 'heartbeat',
          status: { online: true, good: true },
          interval: 60_000,
        }),
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(relay.relay.hub.health().status, 'degraded');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('requires the admin token when one is set, and a token before the admin endpoint may leave loopback', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { adminToken: 'adm-7f3kq' });
    try {
      assert.equal((await fetch(`${relay.adminUrl}/healthz`)).status, 401);
      assert.equal((await fetch(`${relay.adminUrl}/metrics`, { headers: { Authorization: 'Bearer no' } })).status, 403);
      assert.equal((await fetch(`${relay.adminUrl}/reload`, { method: 'POST' })).status, 401);
      assert.equal((await fetch(`${relay.adminUrl}/status.json?access_token=adm-7f3kq`)).status, 200);
      assert.ok(!relay.logs.some((l) => l.includes('7f3kq')), 'the token is never logged');
    } finally {
      await relay.stop();
      await fake.stop();
    }
    assert.throws(
      () => validateConfig({ admin: '0.0.0.0:6720' }),
      (err: Error) =>
        err instanceof ConfigError &&
        /adminToken \(--admin-token\): needed when the admin endpoint listens on 0\.0\.0\.0/.test(err.message),
    );
    assert.doesNotThrow(() => validateConfig({ admin: '0.0.0.0:6720', adminToken: 'x' }));
    assert.throws(
      () => validateConfig({ token: 12345 }),
      (err: Error) => !err.message.includes('12345'),
      'a bad token value is not echoed',
    );
  });
});
