// Events: fan-out in order and byte-identical, lifecycle connect, relay heartbeats, roles.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

describe('events', { timeout: 20_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;

  before(async () => {
    fake = await FakeImplementation.start({ heartbeat: 100 });
    relay = await startTestRelay(fake.url);
    await waitFor(() => relay.relay.hub.health().self_id !== null, 'the relay to learn self_id');
  });
  after(async () => {
    await relay.stop();
    await fake.stop();
  });

  it('reach 3 clients in upstream order, byte for byte', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(relay.wsUrl)));
    await Promise.all(clients.map((c) => c.waitForFrames(() => c.meta('lifecycle').length === 1, 'lifecycle connect')));
    const sent = fake.emit(500);
    for (const client of clients) {
      await client.waitForFrames(() => client.events().length === 500, '500 events');
      assert.deepEqual(client.events(), sent);
    }
    for (const c of clients) c.close();
  });

  it('forward an event whose fields have unexpected types, exactly as it came', async () => {
    const client = await TestClient.connect(relay.wsUrl);
    await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
    const odd = [
      JSON.stringify({ time: 1, self_id: null, post_type: 'notice', notice_type: 'group_upload', sub_type: 7 }),
      JSON.stringify({ time: 1, self_id: { id: 1 }, post_type: 'message', message_type: 'group', interval: 'often', message: [] }),
    ];
    for (const text of odd) fake.broadcast(text);
    await client.waitForFrames(() => client.events().length === 2, 'both events');
    assert.deepEqual(client.events(), odd);
    assert.equal(relay.relay.hub.health().self_id, fake.selfId, 'an odd self_id is not learnt');
    client.close();
  });

  it('send lifecycle connect first, with the real self_id, then relay heartbeats only', async () => {
    const client = await TestClient.connect(relay.wsUrl);
    await client.waitForFrames(() => client.meta('heartbeat').length >= 3, 'three heartbeats');
    const first = client.parsed()[0]!;
    assert.equal(first.meta_event_type, 'lifecycle');
    assert.equal(first.sub_type, 'connect');
    assert.equal(first.self_id, fake.selfId);
    assert.equal(client.meta('lifecycle').length, 1, 'the upstream lifecycle is not forwarded');
    for (const beat of client.meta('heartbeat')) {
      // The fake beats every 100 ms with interval 100; the relay's own carry its 200 ms interval.
      assert.equal(beat.interval, 200, 'upstream heartbeats are consumed, not forwarded');
      assert.deepEqual(beat.status, { online: true, good: true });
      assert.equal(beat.self_id, fake.selfId);
    }
    client.close();
  });

  it('give /api no events and /event no calls; accept a trailing slash', async () => {
    const api = await TestClient.connect(`${relay.wsUrl}/api/`);
    const events = await TestClient.connect(`${relay.wsUrl}/event`);
    await events.waitForFrames(() => events.meta('lifecycle').length === 1, 'lifecycle on /event');
    const reply = await api.call('get_status', {}, 'e1');
    assert.equal(reply.status, 'ok');
    events.send({ action: 'send_group_msg', params: { group_id: 1, message: 'x' }, echo: 'ignored' });
    const sent = fake.emit(3);
    await events.waitForFrames(() => events.events().length === 3, 'events on /event');
    assert.deepEqual(events.events(), sent);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(api.frames.length, 1, '/api got only its reply');
    assert.equal(events.replies().length, 0, 'a call on /event is not processed');
    assert.ok(!fake.calls.some((c) => c.params.group_id === 1), 'the /event call never reached upstream');
    api.close();
    events.close();
  });

  it('answer a plain GET with 426 and an unknown path with 404', async () => {
    const http = relay.wsUrl.replace('ws:', 'http:');
    assert.equal((await fetch(`${http}/`)).status, 426);
    assert.equal((await fetch(`${http}/nope`)).status, 404);
  });

  it('answer an upgrade to another protocol with 426 too, and close it', async () => {
    const { hostname, port } = new URL(relay.wsUrl);
    const socket = connect(Number(port), hostname);
    socket.end(`GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`);
    let answer = '';
    for await (const chunk of socket) answer += chunk;
    assert.match(answer, /^HTTP\/1\.1 426 Upgrade Required\r\n[\s\S]*\r\n\r\nThis is a OneBot v11 WebSocket endpoint/);
  });
});
