// Reverse WebSocket targets: the relay dials frameworks with the headers they check, one socket per role, and redials.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import pkg from '../package.json' with { type: 'json' };
import { FakeFramework } from './fake-framework.ts';
import { FakeImplementation } from './fake-impl.ts';
import { freePort, listenOn, startTestRelay, waitFor } from './helpers.ts';

describe('reverse WebSocket targets (--reverse)', { timeout: 30_000 }, () => {
  it('dials only once self_id is known, with the headers frameworks check, then relays events and calls', async () => {
    const fake = await FakeImplementation.start();
    await fake.kill(); // not there yet: self_id unknown
    const framework = await FakeFramework.start();
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/onebot/v11/ws`], token: 'tok' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(framework.sockets.length, 0, 'no dial without a self_id');
      await fake.restart();
      await framework.live();
      const [socket] = framework.open();
      assert.equal(socket!.path, '/onebot/v11/ws');
      assert.equal(socket!.headers['x-self-id'], String(fake.selfId));
      assert.equal(socket!.headers['x-client-role'], 'Universal');
      assert.equal(socket!.headers.authorization, 'Bearer tok');
      assert.equal(socket!.headers['user-agent'], `OneBot/11 onebot-relay/${pkg.version}`);

      const sent = fake.emit(20);
      await waitFor(() => socket!.frames.length >= 21, 'lifecycle and events');
      const frames = framework.parsed(socket!);
      assert.equal(frames[0]!.sub_type, 'connect');
      assert.equal(frames[0]!.self_id, fake.selfId);
      assert.deepEqual(framework.events(socket!), sent);

      socket!.ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: 1, message: 'hi' }, echo: '123' }));
      await waitFor(() => framework.parsed(socket!).some((f) => f.echo === '123'), 'the reply');
      assert.equal(framework.parsed(socket!).find((f) => f.echo === '123')!.status, 'ok');
      await waitFor(() => framework.parsed(socket!).some((f) => f.meta_event_type === 'heartbeat'), 'a relay heartbeat');
    } finally {
      await relay.stop();
      await framework.stop();
      await fake.stop();
    }
  });

  it('opens an API socket and an Event socket for a split target, events only on the Event one', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const relay = await startTestRelay(fake.url, {
      reverse: [{ apiUrl: `${framework.url}/ws/api`, eventUrl: `${framework.url}/ws/event` }],
    });
    try {
      await waitFor(() => framework.open().length === 2, 'two sockets');
      await framework.live('Event');
      const [api] = framework.open('API');
      const [event] = framework.open('Event');
      assert.equal(api!.path, '/ws/api');
      assert.equal(event!.path, '/ws/event');
      const sent = fake.emit(5);
      await waitFor(() => framework.events(event!).length === 5, 'events on the Event socket');
      assert.deepEqual(framework.events(event!), sent);
      api!.ws.send(JSON.stringify({ action: 'get_status', params: {}, echo: { seq: 1 } }));
      await waitFor(() => api!.frames.length === 1, 'the reply on the API socket');
      assert.deepEqual(JSON.parse(api!.frames[0]!).echo, { seq: 1 });
      assert.equal(api!.frames.length, 1, 'no events, lifecycle or heartbeats on the API socket');
    } finally {
      await relay.stop();
      await framework.stop();
      await fake.stop();
    }
  });

  it('redials a framework that restarts, keeping one socket at a time and delivering each event once', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/ws`] });
    try {
      await framework.live();
      const first = fake.emit(3);
      await waitFor(() => framework.events(framework.sockets[0]!).length === 3, 'events');
      await framework.stop();
      await new Promise((r) => setTimeout(r, 1200)); // a few refused redials (every 250 to 500 ms on loopback)
      await framework.restart();
      await framework.live();
      const later = fake.emit(3);
      const socket = framework.open()[0]!;
      await waitFor(() => framework.events(socket).length === 3, 'events after the redial');
      assert.deepEqual(framework.events(socket), later);
      const everything = framework.sockets.flatMap((s) => framework.events(s));
      assert.deepEqual(everything, [...first, ...later], 'no event twice');
      assert.equal(framework.peak.get('Universal'), 1, 'never two sockets at once');
      assert.equal(framework.duplicates, 0);
      assert.ok(
        relay.logs.some((l) => /cannot reach reverse target/.test(l)),
        'the refused redials are logged once',
      );
    } finally {
      await relay.stop();
      await framework.stop();
      await fake.stop();
    }
  });

  it('gives up on a handshake that never completes after the handshake timeout, and retries', async () => {
    const fake = await FakeImplementation.start();
    let accepted = 0;
    const silent = createServer(() => accepted++); // accepts TCP, never answers the upgrade
    const port = await listenOn(silent);
    const relay = await startTestRelay(fake.url, { reverse: [`ws://127.0.0.1:${port}/ws`], handshakeTimeout: 300 });
    try {
      await waitFor(() => accepted >= 3, 'three attempts', 5000);
      assert.ok(relay.logs.some((l) => /Opening handshake has timed out/.test(l)));
    } finally {
      await relay.stop();
      silent.close();
      await fake.stop();
    }
  });

  it('counts a framework that refuses the socket at once (NoneBot: a duplicate X-Self-ID) as a failed attempt, not a connect and a close', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const squatter = new WebSocket(`${framework.url}/ws`, { headers: { 'X-Self-ID': String(fake.selfId), 'X-Client-Role': 'Universal' } });
    await new Promise((r) => squatter.once('open', r));
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/ws`] });
    try {
      await waitFor(() => framework.duplicates >= 1, 'a refused attempt');
      const kept = fake.emit(5);
      await waitFor(() => framework.duplicates >= 3, 'three refused attempts');
      assert.ok(
        relay.logs.some((l) =>
          /WARN .*cannot reach reverse target .*: closed with code 1008 "Duplicate X-Self-ID" as soon as it opened; retrying with backoff/.test(
            l,
          ),
        ),
      );
      assert.ok(
        !relay.logs.some((l) => /connected to reverse target|reverse target .* closed: code 1008/.test(l)),
        'no connect and close per attempt',
      );
      squatter.terminate(); // the framework lets go of the stale connection: the next attempt is accepted
      await waitFor(() => framework.open().some((s) => framework.events(s).length === 5), 'the kept events');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(framework.events(framework.open()[0]!), kept, 'the refused attempts did not take the kept events away');
    } finally {
      squatter.terminate();
      await relay.stop();
      await framework.stop();
      await fake.stop();
    }
  });

  it('warns at start when one server is both a POST target and a reverse target (NoneBot then refuses the socket for good)', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const relay = await startTestRelay(fake.url, {
      post: [`http://127.0.0.1:${port}/onebot/v11/http`, `http://127.0.0.1:${port + 1}/onebot/v11/http`],
      reverse: [`ws://127.0.0.1:${port}/onebot/v11/ws`, `ws://localhost:${port + 1}/onebot/v11/ws`],
    });
    try {
      const warnings = relay.logs.filter((l) => /are one server/.test(l));
      assert.equal(warnings.length, 1, 'only the pair on one host and port');
      assert.match(
        warnings[0]!,
        new RegExp(
          `WARN .*post target http://127.0.0.1:${port}/onebot/v11/http and reverse target ws://127.0.0.1:${port}/onebot/v11/ws are one server \\(127.0.0.1:${port}\\): if it is NoneBot, .*"Duplicate X-Self-ID".*serve that framework one way only`,
        ),
      );
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});
