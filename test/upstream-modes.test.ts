// The other upstream modes: the implementation dials the relay (reverse WS), or speaks HTTP API + HTTP POST.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayRetcode } from '../src/onebot.ts';
import type { HttpLink } from '../src/upstream/http-link.ts';
import type { ReverseListener } from '../src/upstream/reverse-listener.ts';
import { FakeHttpImplementation, FakeReverseImplementation } from './fake-other-impls.ts';
import { closeCode, startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const listenUrl = (relay: TestRelay) => `ws://${(relay.relay.upstreams[0] as ReverseListener).listener.url}`;

describe('reverse WebSocket upstream (--upstream-listen)', { timeout: 30_000 }, () => {
  it('checks the token before the upgrade: 401 without, 403 wrong', async () => {
    const relay = await startTestRelay(undefined, { upstreamListen: '127.0.0.1:0', upstreamToken: 'up' });
    const fake = new FakeReverseImplementation();
    try {
      await assert.rejects(fake.connect(`${listenUrl(relay)}/onebot/v11/ws`, 'Universal'), /HTTP 401/);
      await assert.rejects(fake.connect(`${listenUrl(relay)}/onebot/v11/ws`, 'Universal', 'nope'), /HTTP 403/);
      assert.equal(relay.relay.hub.health().status, 'down');
    } finally {
      await relay.stop();
    }
  });

  it('takes a Universal socket on any path, learns self_id from X-Self-ID, relays events and calls, and waits through a drop', async () => {
    const relay = await startTestRelay(undefined, { upstreamListen: '127.0.0.1:0', upstreamToken: 'up' });
    const fake = new FakeReverseImplementation(424242);
    fake.unanswered.add('get_login_info'); // so self_id can only come from the header
    const client = await TestClient.connect(relay.wsUrl);
    try {
      let upstream = await fake.connect(`${listenUrl(relay)}/any/path/at/all`, 'Universal', 'up');
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
      assert.equal(client.meta('lifecycle')[0]!.self_id, 424242);
      const before = fake.emit(upstream, 3);
      await client.waitForFrames(() => client.events().length === 3, 'events');
      assert.deepEqual(client.events(), before);
      const reply = await client.call('send_group_msg', { group_id: 1, message: 'hi' }, 'c1');
      assert.equal(reply.status, 'ok');
      assert.ok(fake.calls.some((c) => c.action === 'send_group_msg'));

      upstream.terminate();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the relay to see the drop');
      await client.waitForFrames(() => client.meta('heartbeat').some((h) => h.status.good === false), 'a good=false heartbeat');
      upstream = await fake.connect(`${listenUrl(relay)}/`, 'universal', 'up'); // any case
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link back');
      const after = fake.emit(upstream, 2);
      await client.waitForFrames(() => client.events().length === 5, 'events after the drop');
      assert.deepEqual(client.events(), [...before, ...after]);
      assert.equal(client.ws.readyState, client.ws.OPEN, 'the client stayed connected');
      upstream.terminate();
    } finally {
      client.close();
      await relay.stop();
    }
  });

  it('takes an API socket plus an Event socket, and a newer socket replaces a half-open one', async () => {
    const relay = await startTestRelay(undefined, { upstreamListen: '127.0.0.1:0' });
    const fake = new FakeReverseImplementation();
    const client = await TestClient.connect(relay.wsUrl);
    try {
      const api = await fake.connect(`${listenUrl(relay)}/ws/api`, 'Api'); // Lagrange spells it so
      const event = await fake.connect(`${listenUrl(relay)}/ws/event`, 'Event');
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      const sent = fake.emit(event, 2);
      await client.waitForFrames(() => client.events().length === 2, 'events from the Event socket');
      assert.deepEqual(client.events(), sent);
      const reply = await client.call('get_status', {}, 'api');
      assert.equal(reply.status, 'ok');

      api.removeAllListeners('message'); // half-open: it no longer answers
      const lost = client.call('send_group_msg', { group_id: 1, message: 'x' }, 'lost');
      await waitFor(() => relay.relay.hub.health().pending_calls === 1, 'the call sent on the half-open socket');
      const apiClosed = closeCode(api);
      const replacement = await fake.connect(`${listenUrl(relay)}/ws/api`, 'API');
      assert.equal(await apiClosed, 1006, 'the older API socket was dropped');
      assert.equal((await lost).retcode, 1503, 'the call sent on it is answered "outcome unknown" at once, not after the call timeout');
      assert.equal((await client.call('get_status', {}, 'after')).status, 'ok');
      assert.equal(relay.relay.hub.health().reconnects, 0, 'a replacement is not an outage');
      replacement.terminate();
      event.terminate();
    } finally {
      client.close();
      await relay.stop();
    }
  });

  it('refuses an unknown X-Client-Role with close 1008', async () => {
    const relay = await startTestRelay(undefined, { upstreamListen: '127.0.0.1:0' });
    try {
      const ws = await new FakeReverseImplementation().connect(listenUrl(relay), 'Both');
      assert.equal(await closeCode(ws), 1008);
    } finally {
      await relay.stop();
    }
  });
});

describe('HTTP upstream (--upstream http:// with --upstream-post-listen)', { timeout: 30_000 }, () => {
  const receiverUrl = (relay: TestRelay) => `http://${(relay.relay.upstreams[0] as HttpLink).receiver.url}/`;

  it('calls the HTTP API with the token, takes signed event POSTs with 204, and follows the API up and down', async () => {
    const fake = await FakeHttpImplementation.start('up');
    const relay = await startTestRelay(fake.url, { upstreamPostListen: '127.0.0.1:0', upstreamToken: 'up', upstreamSecret: 'sig' });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(
        () => relay.relay.hub.health().status === 'up' && relay.relay.hub.health().self_id === fake.selfId,
        'the link and self_id',
      );
      assert.ok(fake.authorizations.every((a) => a === 'Bearer up'));

      const reply = await client.call('send_group_msg', { group_id: 5, message: 'x' }, 7);
      assert.equal(reply.status, 'ok');
      assert.equal(reply.echo, 7);
      assert.deepEqual(fake.calls.find((c) => c.action === 'send_group_msg')!.params, { group_id: 5, message: 'x' });
      const unknown = await client.call('nope', {}, 8);
      assert.equal(unknown.retcode, 1404);

      const { sent, statuses } = await fake.post(receiverUrl(relay), 3, 'sig');
      assert.deepEqual(statuses, [204, 204, 204]);
      await client.waitForFrames(() => client.events().length === 3, 'posted events');
      assert.deepEqual(client.events(), sent, 'byte-identical and in order');
      assert.deepEqual((await fake.post(receiverUrl(relay), 1, 'wrong')).statuses, [403]);
      assert.deepEqual((await fake.post(receiverUrl(relay), 1)).statuses, [401]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(client.events().length, 3, 'unsigned or wrongly signed events are not delivered');

      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the probe to notice', 3000);
      client.send({ action: 'get_status', params: {}, echo: 'held' });
      await fake.restart();
      await client.waitForFrames(() => client.replies().some((r) => r.echo === 'held'), 'the held call');
      assert.equal(client.replies().find((r) => r.echo === 'held')!.status, 'ok');
      assert.equal(relay.relay.hub.health().status, 'up');
    } finally {
      client.close();
      await relay.stop();
      await fake.kill();
    }
  });

  it('answers a call that never got through with "outcome unknown" when the API vanishes mid-call', async () => {
    const fake = await FakeHttpImplementation.start();
    const relay = await startTestRelay(fake.url, { upstreamPostListen: '127.0.0.1:0', ping: 60_000 });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      await fake.kill();
      const reply = await client.call('send_group_msg', { group_id: 1, message: 'x' }, 'gone');
      assert.equal(reply.retcode, RelayRetcode.outcomeUnknown);
      assert.equal(relay.relay.hub.health().status, 'down');
    } finally {
      client.close();
      await relay.stop();
    }
  });
});
