// Fault: malformed input on every endpoint. Each gets a clear error; the relay keeps serving everyone else.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HttpApiAdapter } from '../../src/downstream/http-api.ts';
import { RelayRetcode } from '../../src/onebot.ts';
import type { HttpLink } from '../../src/upstream/http-link.ts';
import type { ReverseListener } from '../../src/upstream/reverse-listener.ts';
import { FakeImplementation } from '../fake-impl.ts';
import { FakeHttpImplementation, FakeReverseImplementation } from '../fake-other-impls.ts';
import { closeCode, startTestRelay, TestClient, waitFor } from '../helpers.ts';
import { receivedIds, sentIds, tally } from './tally.ts';

/** The status line a server answers a raw request with. */
async function rawStatus(url: string, request: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(request);
  let reply = '';
  socket.on('data', (d) => (reply += d));
  await new Promise((resolve) => socket.once('close', resolve));
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}
const hugeHeader = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: ${'j'.repeat(32 * 1024)}\r\nConnection: close\r\n\r\n`;

/** How a server ends a WebSocket after `send` (close code), or 0 if it stays open for 500 ms. */
async function closeCodeAfter(url: string, send: (ws: WebSocket) => void): Promise<number> {
  const ws = new WebSocket(url);
  await new Promise((resolve) => ws.once('open', resolve));
  const closed = closeCode(ws);
  send(ws);
  const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(0), 500))]);
  ws.terminate();
  return code;
}

const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x7d]); // {"a\xff\xfe"}

describe('fault: malformed input on every endpoint', { timeout: 40_000 }, () => {
  it('client WebSocket server, HTTP API and admin endpoint', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { http: ['127.0.0.1:0'], maxPayload: 4096 });
    const control = await TestClient.connect(relay.wsUrl);
    const api = `http://${relay.relay.adapters.find((a) => a instanceof HttpApiAdapter)!.listener.url}`;
    try {
      await control.waitForFrames(() => control.meta('lifecycle').length === 1, 'lifecycle');
      // WebSocket server
      const bad = await TestClient.connect(relay.wsUrl);
      for (const frame of ['not json', '[1,2]', '42', '{"echo":1}']) bad.send(frame);
      await bad.waitForFrames(() => bad.replies().length === 4, 'four answers');
      assert.ok(bad.replies().every((r) => r.retcode === RelayRetcode.badRequest));
      assert.equal(await closeCodeAfter(relay.wsUrl, (ws) => ws.send('x'.repeat(5000))), 1009, 'a frame over the max payload');
      assert.equal(await closeCodeAfter(relay.wsUrl, (ws) => ws.send(invalidUtf8, { binary: false })), 1007, 'invalid UTF-8');
      assert.equal(await rawStatus(relay.wsUrl, hugeHeader('/')), 431, 'a huge header');
      assert.equal((await fetch(`${relay.wsUrl.replace('ws:', 'http:')}/no/such/path`)).status, 404);
      // HTTP API
      const post = (body: string | Blob, type = 'application/json') =>
        fetch(`${api}/send_msg`, { method: 'POST', headers: { 'Content-Type': type }, body });
      assert.equal((await post('not json')).status, 400);
      assert.equal((await post('[1,2]')).status, 400);
      assert.equal((await post(new Blob([invalidUtf8]))).status, 400);
      assert.equal((await post('x', 'application/xml')).status, 406);
      assert.equal((await post(JSON.stringify({ message: 'x'.repeat(5000) }))).status, 413);
      assert.equal(await rawStatus(api, hugeHeader('/get_status')), 431);
      assert.equal((await fetch(`${api}/a/b/c`)).status, 404);
      // admin
      assert.equal((await fetch(`${relay.adminUrl}/nope`)).status, 404);
      assert.equal(await rawStatus(relay.adminUrl, hugeHeader('/healthz')), 431);
      assert.ok(!fake.calls.some((c) => c.action === 'send_msg'), 'nothing malformed reached the implementation');
      // everyone else is still served
      const sent = fake.emit(3);
      await control.waitForFrames(() => control.events().length === 3, 'events for the control client');
      assert.deepEqual(control.events(), sent);
      const result = tally('malformed input, a well-behaved client meanwhile', sentIds(sent), receivedIds(control));
      assert.equal(result.lost + result.duplicated, 0);
      assert.equal((await control.call('get_status', {}, 'ok')).status, 'ok');
      console.log(
        'fault malformed input (client side): 14 kinds answered with 1400, 1007, 1009, 400, 404, 406, 413 or 431; the control client kept working',
      );
      bad.close();
    } finally {
      control.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('from the implementation: over reverse WebSocket and as event POSTs', async () => {
    const reverse = await startTestRelay(undefined, { upstreamListen: '127.0.0.1:0', maxPayload: 4096 });
    const http = await FakeHttpImplementation.start();
    const posted = await startTestRelay(http.url, { upstreamPostListen: '127.0.0.1:0', maxPayload: 4096 });
    const client = await TestClient.connect(reverse.wsUrl);
    try {
      const impl = new FakeReverseImplementation();
      const url = `ws://${(reverse.relay.upstreams[0] as ReverseListener).listener.url}/`;
      let ws = await impl.connect(url, 'Universal');
      await waitFor(() => reverse.relay.hub.health().status === 'up', 'the reverse link');
      ws.send('not json');
      ws.send('[1,2,3]');
      ws.send('"just a string"');
      await waitFor(
        () => reverse.logs.filter((l) => /upstream sent a frame that is (not JSON|neither an event nor a reply)/.test(l)).length === 3,
        'three warnings',
      );
      assert.equal(reverse.relay.hub.health().status, 'up', 'bad frames do not drop the link');
      const dropped = closeCode(ws);
      ws.send('x'.repeat(5000));
      assert.equal(await dropped, 1009, 'an oversized frame ends that socket');
      ws = await impl.connect(url, 'Universal');
      await waitFor(() => reverse.relay.hub.health().status === 'up', 'the implementation back');
      const sent = impl.emit(ws, 2);
      await client.waitForFrames(() => client.events().length === 2, 'events after the bad input');
      assert.deepEqual(client.events(), sent);
      const result = tally('malformed input from the implementation, its good events', sentIds(sent), receivedIds(client));
      assert.equal(result.lost + result.duplicated, 0);
      assert.equal(client.ws.readyState, client.ws.OPEN);
      ws.terminate();

      const receiver = `http://${(posted.relay.upstreams[0] as HttpLink).receiver.url}`;
      const postEvent = (body: string) => fetch(`${receiver}/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal((await postEvent('not json')).status, 400);
      assert.equal((await postEvent('[1]')).status, 400);
      assert.equal((await postEvent(JSON.stringify({ post_type: 'message', raw_message: 'x'.repeat(5000) }))).status, 413);
      assert.equal((await fetch(receiver)).status, 405);
      assert.equal(await rawStatus(receiver, hugeHeader('/')), 431);
      assert.deepEqual((await http.post(`${receiver}/`, 1)).statuses, [204], 'a good event still goes through');
      console.log(
        'fault malformed input (implementation side): non-JSON and non-objects ignored with a warning, 1009, 400, 405, 413, 431; the link and the clients stayed up',
      );
    } finally {
      client.close();
      await reverse.stop();
      await posted.stop();
      await http.kill();
    }
  });
});
