// Reload without a restart: unchanged endpoints keep their connections, removed ones say disable and close,
// added ones start, changed ones restart; invalid settings leave the running ones untouched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpApiAdapter } from '../src/downstream/http-api.ts';
import { WsServerAdapter } from '../src/downstream/ws-server.ts';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeFramework, FakeWebhook } from './fake-framework.ts';
import { FakeImplementation } from './fake-impl.ts';
import { FakeHttpImplementation } from './fake-other-impls.ts';
import { busyPort, freePort, startTestRelay, TestClient, waitFor } from './helpers.ts';

/** POST /reload as a script does (a form post is refused: see browser-guard.test.ts). */
const POST_JSON = { method: 'POST', headers: { 'Content-Type': 'application/json' } };

describe('reload', { timeout: 30_000 }, () => {
  it('keeps unchanged endpoints connected and starts added ones', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      relay.settings.http = ['127.0.0.1:0'];
      relay.settings.post = [hook.url];
      assert.equal(await relay.relay.reload(), true);
      const api = relay.relay.adapters.find((a) => a instanceof HttpApiAdapter)!;
      const res = await fetch(`http://${api.listener.url}/get_status`);
      assert.equal(((await res.json()) as Record<string, unknown>).status, 'ok');
      const sent = fake.emit(2);
      await waitFor(() => hook.events().length === 2, 'events at the added POST target');
      await client.waitForFrames(() => client.events().length === 2, 'events at the unchanged client');
      assert.deepEqual(client.events(), sent);
      assert.equal(client.ws.readyState, client.ws.OPEN, 'the unchanged endpoint kept its client');
      assert.equal(client.meta('lifecycle').length, 1);
      assert.ok(relay.logs.some((l) => /reloaded: added HTTP API server 127\.0\.0\.1:0; added HTTP POST target/.test(l)));
    } finally {
      client.close();
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('says disable to removed endpoints and closes them, and restarts changed ones', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/ws`], ws: ['127.0.0.1:0', '127.0.0.1:0'] });
    const [first, second] = relay.relay.adapters.filter((a) => a instanceof WsServerAdapter).map((a) => `ws://${a.listener.url}`);
    const onFirst = await TestClient.connect(first!);
    try {
      await onFirst.waitForFrames(() => onFirst.meta('lifecycle').length === 1, 'lifecycle');
      await framework.live();
      relay.settings.reverse = [];
      relay.settings.ws = [{ listen: '127.0.0.1:0', token: 'new' }]; // both servers change: the token is new
      assert.equal(await relay.relay.reload(), true);
      assert.equal((await onFirst.closed).code, 1001);
      assert.deepEqual(
        onFirst.meta('lifecycle').map((l) => l.sub_type),
        ['connect', 'disable'],
      );
      await waitFor(() => framework.open().length === 0, 'the reverse socket closed');
      assert.deepEqual(
        framework
          .parsed(framework.sockets[0]!)
          .filter((f) => f.meta_event_type === 'lifecycle')
          .map((f) => f.sub_type),
        ['connect', 'disable'],
      );
      const servers = relay.relay.adapters.filter((a) => a instanceof WsServerAdapter);
      assert.equal(servers.length, 1, 'one server is left');
      const restarted = `ws://${servers[0]!.listener.url}`;
      // Both asked for port 0: the restarted server may have been given the removed one's port.
      if (restarted !== second) await assert.rejects(TestClient.connect(second!), /ECONNREFUSED/, 'the removed listener is closed');
      await assert.rejects(TestClient.connect(restarted), /401/);
      const withToken = await TestClient.connect(restarted, { Authorization: 'Bearer new' });
      await withToken.waitForFrames(() => withToken.meta('lifecycle').length === 1, 'lifecycle on the restarted server');
      withToken.close();
      assert.ok(relay.logs.some((l) => /removed reverse WebSocket target/.test(l)));
    } finally {
      await relay.stop();
      await framework.stop();
      await fake.stop();
    }
  });

  it('hands a restarted endpoint what the old one kept for targets that are away, so that each event arrives once, in order', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const hook = await FakeWebhook.start();
    await framework.stop();
    await hook.stop();
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/ws`], post: [hook.url] });
    try {
      const named = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      await named.waitForFrames(() => named.meta('lifecycle').length === 1, 'lifecycle');
      named.close();
      await waitFor(
        () => relay.relay.adapters.some((a) => a.clients().some((c) => c.name === 'bot' && !c.connected)),
        'the named client away',
      );
      const before = fake.emit(4);
      // The POST target keeps its lifecycle enable too.
      await waitFor(
        () => relay.relay.adapters.every((a) => a.clients().every((c) => c.role === 'api' || c.buffered === (c.role === 'post' ? 5 : 4))),
        'four kept for each',
      );
      relay.settings.heartbeat = 300; // the WS server and the reverse target restart
      relay.settings.postTimeout = 4000; // the POST target restarts
      assert.equal(await relay.relay.reload(), true);
      assert.ok(
        relay.logs.some((l) =>
          /reloaded: restarted WebSocket server .*; restarted reverse WebSocket target .*; restarted HTTP POST target/.test(l),
        ),
      );
      const after = fake.emit(2);
      await framework.restart();
      await hook.restart();
      const back = await TestClient.connect(
        `ws://${relay.relay.adapters.find((a) => a instanceof WsServerAdapter)!.listener.url}/?client=bot`,
      );
      const all = [...before, ...after];
      await back.waitForFrames(() => back.events().length === 6, 'the named client gets everything');
      await waitFor(
        () => framework.open().length === 1 && framework.events(framework.open()[0]!).length === 6,
        'the reverse target gets everything',
      );
      await waitFor(() => hook.events().length === 6, 'the POST target gets everything');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(back.events(), all);
      assert.deepEqual(framework.events(framework.open()[0]!), all);
      assert.deepEqual(
        hook.posts.map((p) => p.body).filter((b) => !b.includes('meta_event')),
        all.map((e) => JSON.stringify(JSON.parse(e))),
      );
      back.close();
    } finally {
      await relay.stop();
      await framework.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('refuses invalid settings, logs exactly why, and keeps everything running', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      relay.settings.heartbeat = 'often' as unknown as number;
      const res = await fetch(`${relay.adminUrl}/reload`, POST_JSON);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as Record<string, unknown>).reloaded, false);
      assert.ok(
        relay.logs.some((l) =>
          /reload refused, the running settings stay: invalid settings:\n {2}heartbeat: expected a number of milliseconds, got "often"/.test(
            l,
          ),
        ),
      );
      const sent = fake.emit(1);
      await client.waitForFrames(() => client.events().length === 1, 'an event after the refused reload');
      assert.deepEqual(client.events(), sent);
      relay.settings.heartbeat = 300;
      const ok = await fetch(`${relay.adminUrl}/reload`, POST_JSON);
      assert.equal(ok.status, 200);
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('moves to a new upstream while clients stay connected', async () => {
    const oldFake = await FakeImplementation.start();
    const newFake = await FakeImplementation.start();
    const relay = await startTestRelay(oldFake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => oldFake.sockets.size === 1, 'the old link');
      relay.settings.upstream = `${newFake.url}/?access_token=hunter2`;
      assert.equal(await relay.relay.reload(), true);
      await waitFor(() => newFake.sockets.size === 1 && oldFake.sockets.size === 0, 'the new link instead of the old');
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up');
      const sent = newFake.emit(2);
      assert.equal(relay.relay.hub.health().accounts.length, 1, 'the rebuilt link carries the same account');
      await client.waitForFrames(() => client.events().length === 2, 'events from the new upstream');
      assert.deepEqual(client.events(), sent);
      assert.equal(client.ws.readyState, client.ws.OPEN);
      assert.ok(relay.logs.some((l) => /reloaded: upstream → ws:\/\/127\.0\.0\.1:\d+\/\?access_token=\*\*\*/.test(l)));
      assert.ok(!relay.logs.some((l) => l.includes('hunter2')), 'the token is never logged');
    } finally {
      client.close();
      await relay.stop();
      await oldFake.stop();
      await newFake.stop();
    }
  });

  it('gives the HTTP upstream a new call timeout (every setting a piece is built from counts as a change)', async () => {
    const fake = await FakeHttpImplementation.start();
    fake.delays.set('echo_params', 1_500);
    const relay = await startTestRelay(fake.url, { upstreamPostListen: '127.0.0.1:0', callTimeout: 1_000 });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up');
      assert.equal((await client.call('echo_params', {}, 'before')).retcode, RelayRetcode.timeout, 'the old timeout at first');
      relay.settings.callTimeout = 5_000;
      assert.equal(await relay.relay.reload(), true);
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up again');
      assert.equal(relay.relay.hub.health().accounts.length, 1, 'the rebuilt link carries the same account');
      const reply = await client.call('echo_params', {}, 'after');
      assert.equal(reply.status, 'ok', `answered within the new timeout: ${JSON.stringify(reply)}`);
    } finally {
      client.close();
      await relay.stop();
      await fake.kill();
    }
  });

  it('restarts a POST target whose buffer limits changed, so that the new limits apply to it', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url, { post: [hook.url] });
    try {
      relay.settings.bufferEvents = 500;
      assert.equal(await relay.relay.reload(), true);
      assert.ok(relay.logs.some((l) => /reloaded: .*restarted HTTP POST target http:\/\/127\.0\.0\.1:\d+/.test(l)));
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('changes the log level and format at once, and says which settings wait for the next start', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const clients: TestClient[] = [];
    const connectLines = () => relay.logs.filter((l) => /connected \(universal\)/.test(l));
    try {
      relay.settings.logLevel = 'warn';
      relay.settings.logFile = 'elsewhere.log';
      assert.equal(await relay.relay.reload(), true);
      assert.ok(relay.logs.some((l) => /WARN .*reload: logFile takes effect at the next start/.test(l)));
      assert.ok(
        relay.logs.some((l) => /INFO .*reloaded: logging now at warn level in text format/.test(l)),
        'the reload itself is still seen',
      );
      clients.push(await TestClient.connect(relay.wsUrl));
      await clients[0]!.waitForFrames(() => clients[0]!.meta('lifecycle').length === 1, 'lifecycle');
      assert.equal(connectLines().length, 0, 'info lines are off at warn level');

      relay.settings.logLevel = 'info';
      relay.settings.logFormat = 'json';
      assert.equal(await relay.relay.reload(), true);
      clients.push(await TestClient.connect(relay.wsUrl));
      await waitFor(() => connectLines().length === 1, 'the connect line at info level');
      assert.deepEqual(Object.keys(JSON.parse(connectLines()[0]!)), ['time', 'level', 'scope', 'msg']);
    } finally {
      for (const client of clients) client.close();
      await relay.stop();
      await fake.stop();
    }
  });
});

describe('reload that cannot be applied', { timeout: 30_000 }, () => {
  it('keeps the previous upstream when the new one cannot start, and later reloads still work', async () => {
    const { busy, blocker } = await busyPort();
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up');
      delete relay.settings.upstream;
      relay.settings.upstreamListen = busy;
      assert.equal(await relay.relay.reload(), true, 'the rest of the settings still apply');
      assert.ok(
        relay.logs.some((l) =>
          new RegExp(`the new upstream \\(listening on ${busy}\\) could not start: .*already in use.*; back to the previous one`).test(l),
        ),
      );
      await waitFor(() => relay.relay.hub.health().status === 'up' && fake.sockets.size === 1, 'the previous upstream back');
      const sent = fake.emit(2);
      await client.waitForFrames(() => client.events().length === 2, 'events through the previous upstream');
      assert.deepEqual(client.events(), sent);
      relay.settings.http = ['127.0.0.1:0'];
      assert.equal(await relay.relay.reload(), true, 'a later reload works');
      assert.ok(relay.logs.some((l) => /reloaded: added HTTP API server/.test(l)));
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
      blocker.close();
    }
  });

  it('changes no endpoint when a new one cannot open, so that a server moved to a busy port keeps running where it was', async () => {
    const { busy, blocker } = await busyPort();
    const fake = await FakeImplementation.start();
    const where = `127.0.0.1:${await freePort()}`;
    const relay = await startTestRelay(fake.url, { ws: [where] });
    const client = await TestClient.connect(`ws://${where}/?client=bot`);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      relay.settings.ws = [busy];
      relay.settings.http = ['127.0.0.1:0'];
      assert.equal(await relay.relay.reload(), true);
      assert.ok(
        relay.logs.some((l) =>
          new RegExp(
            `reload: WebSocket server ${busy} could not start \\(.*already in use.*\\); no endpoint is added, removed or restarted`,
          ).test(l),
        ),
      );
      assert.deepEqual(
        relay.relay.adapters.map((a) => a.name),
        [`ws://${where}/ (WebSocket server: /, /api, /event)`],
        'the HTTP API server was not added either',
      );
      const sent = fake.emit(2);
      const back = await TestClient.connect(`ws://${where}/?client=bot`); // it had to let go of its port to find out
      await back.waitForFrames(() => back.events().length === 2, 'events on the server where it was, kept for the named client meanwhile');
      assert.deepEqual(back.events(), sent);
      back.close();
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
      blocker.close();
    }
  });

  it('moves an endpoint onto a port another of its endpoints lets go of in the same reload', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const relay = await startTestRelay(fake.url, { ws: [`127.0.0.1:${port}`] });
    try {
      relay.settings.ws = [];
      relay.settings.http = [`127.0.0.1:${port}`];
      assert.equal(await relay.relay.reload(), true);
      assert.ok(
        relay.logs.some((l) => new RegExp(`reloaded: added HTTP API server 127\\.0\\.0\\.1:${port}; removed WebSocket server`).test(l)),
      );
      const res = await fetch(`http://127.0.0.1:${port}/get_status`);
      assert.equal(((await res.json()) as Record<string, unknown>).status, 'ok');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});
