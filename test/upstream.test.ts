// The upstream link: restarts, freezes, silent heartbeats, held calls, tokens; clients never notice more than they must.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

describe('upstream link', { timeout: 30_000 }, () => {
  it('keeps clients connected across an upstream restart, with heartbeats good=false then true, and delivers later events', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
      const before = fake.emit(2);
      await client.waitForFrames(() => client.events().length === 2, 'events before the restart');

      await fake.kill();
      await client.waitForFrames(() => client.meta('heartbeat').some((h) => h.status.good === false), 'a heartbeat with good=false');
      const down = client.meta('heartbeat').find((h) => h.status.good === false)!;
      assert.equal(down.status.online, false);
      assert.equal(down.self_id, fake.selfId, 'heartbeats keep the self_id while the link is down');

      await fake.restart();
      await waitFor(() => fake.sockets.size === 1, 'the relay to reconnect');
      const beatsBefore = client.meta('heartbeat').length;
      await client.waitForFrames(
        () =>
          client
            .meta('heartbeat')
            .slice(beatsBefore)
            .some((h) => h.status.good === true),
        'a heartbeat with good=true',
      );
      const after = fake.emit(3);
      await client.waitForFrames(() => client.events().length === 5, 'events after the restart');
      assert.deepEqual(client.events(), [...before, ...after]);
      assert.equal(client.ws.readyState, client.ws.OPEN, 'the client was never disconnected');
      assert.equal(client.meta('lifecycle').length, 1, 'no second lifecycle connect for an upstream reconnect');
      assert.equal(relay.relay.hub.health().reconnects, 1);
      assert.ok(
        relay.logs.some((l) => /upstream down: connection lost without a close frame \(1006\)/.test(l)),
        'the drop is logged with its code',
      );
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('detects a frozen implementation within ping + timeout and reconnects', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { ping: 300, pingTimeout: 300 });
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link to come up');
      const frozenAt = Date.now();
      fake.freeze();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the relay to notice the freeze', 3000);
      const noticed = Date.now() - frozenAt;
      assert.ok(noticed <= 300 + 300 + 150, `noticed after ${noticed} ms (ping 300 + timeout 300)`);
      assert.match(relay.relay.hub.health().reason!, /no pong or frame within 300 ms/);
      // A frozen process is still listening: the relay's next attempt gets a fresh socket.
      await waitFor(() => relay.relay.hub.health().status === 'up', 'a new link');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('probes with get_status after two missed heartbeats and reconnects when it goes unanswered', async () => {
    const fake = await FakeImplementation.start({ heartbeat: 100 });
    // Pings far apart, so only the heartbeat watchdog can notice.
    const relay = await startTestRelay(fake.url, { ping: 60_000, pingTimeout: 300 });
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link to come up');
      await new Promise((r) => setTimeout(r, 300));
      fake.unanswered.add('get_status');
      fake.stopHeartbeats();
      const silentFrom = Date.now();
      await waitFor(() => fake.calls.some((c) => c.action === 'get_status'), 'a get_status probe', 2000);
      const probedAfter = Date.now() - silentFrom;
      // 2.5 intervals after the last beat, which came at most one interval before the silence.
      assert.ok(probedAfter >= 140 && probedAfter < 600, `probed ${probedAfter} ms into the silence (interval 100)`);
      await waitFor(() => relay.relay.hub.health().reconnects === 1, 'a reconnect for the silence', 2000);
      assert.match(relay.relay.hub.health().link.last_down!.reason, /two heartbeats missed and get_status unanswered within 300 ms/);
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('holds calls while the link is down, fails them after the hold time, and never resends a call in flight', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { hold: 400, callTimeout: 3000 });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link to come up');

      // In flight when the link dies: answered "outcome unknown", not resent after reconnecting.
      fake.unanswered.add('send_group_msg');
      client.send({ action: 'send_group_msg', params: { group_id: 1, message: 'once' }, echo: 'inflight' });
      await waitFor(() => fake.calls.some((c) => c.action === 'send_group_msg'), 'the call to reach upstream');
      await fake.kill();
      await client.waitForFrames(() => client.replies().some((r) => r.echo === 'inflight'), 'a reply to the call in flight');
      const lost = client.replies().find((r) => r.echo === 'inflight')!;
      assert.equal(lost.retcode, RelayRetcode.outcomeUnknown);
      assert.match(lost.message, /outcome unknown/);

      // Held past the hold time: "upstream not connected".
      const started = Date.now();
      const held = await client.call('get_status', {}, 'held-too-long');
      assert.equal(held.retcode, RelayRetcode.notConnected);
      assert.match(held.message, /upstream not connected/);
      assert.ok(Date.now() - started >= 380, 'it waited for the hold time');

      // Held while the link comes back: sent once it is up. The next attempt comes within the 300 ms backoff
      // cap, so the hold gets room beyond that for a slow machine.
      relay.settings.hold = 3000;
      assert.equal(await relay.relay.reload(), true);
      client.send({ action: 'get_status', params: {}, echo: 'held-ok' });
      await new Promise((r) => setTimeout(r, 50));
      fake.unanswered.clear();
      await fake.restart();
      await client.waitForFrames(() => client.replies().some((r) => r.echo === 'held-ok'), 'the held call to be answered');
      assert.equal(client.replies().find((r) => r.echo === 'held-ok')!.status, 'ok');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(fake.calls.filter((c) => c.action === 'send_group_msg').length, 1, 'the call in flight was sent exactly once');
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('sends the upstream token as a Bearer header and says so when it is refused', async () => {
    const fake = await FakeImplementation.start({ token: 'up-secret' });
    const wrong = await startTestRelay(fake.url, { upstreamToken: 'nope' });
    try {
      await waitFor(() => wrong.logs.some((l) => /HTTP 403 \(check --upstream-token\)/.test(l)), 'a clear refusal in the log');
      assert.ok(!wrong.logs.some((l) => l.includes('nope')), 'the token is never logged');
    } finally {
      await wrong.stop();
    }
    const right = await startTestRelay(fake.url, { upstreamToken: 'up-secret' });
    try {
      await waitFor(() => right.relay.hub.health().status === 'up', 'the link with the right token');
      assert.equal(fake.authorizations.at(-1), 'Bearer up-secret');
    } finally {
      await right.stop();
      await fake.stop();
    }
  });

  it("takes NapCat's 1403 answer to a wrong token as a failed attempt: a clear hint, no up and down, calls held", async () => {
    const fake = await FakeImplementation.start({ token: 'up-secret', refuseTokenAs: 'napcat' });
    const relay = await startTestRelay(fake.url, { upstreamToken: 'nope', reconnectMax: 100, hold: 2000 });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      const reply = await client.call('send_group_msg', { group_id: 1, message: 'x' }, 1);
      assert.equal(reply.retcode, 1502, 'held, then "not connected": never sent to a socket that was refused');
      assert.ok(fake.authorizations.length >= 3, 'it kept retrying');
      assert.ok(
        relay.logs.some((l) =>
          /cannot reach upstream .*: the implementation refused the token \(retcode 1403; check --upstream-token\)/.test(l),
        ),
      );
      assert.equal(relay.logs.filter((l) => /upstream up|upstream down/.test(l)).length, 0, 'no up and down per attempt');
      assert.equal(relay.relay.hub.health().reconnects, 0);
      assert.equal(
        relay.logs.filter((l) => /WARN|INFO/.test(l) && /cannot reach|connecting/.test(l)).length,
        2,
        'one line to connect, one for the refusal; the rest at debug',
      );
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('retries an unreachable upstream with growing delays from one loop, logging a summary instead of every failure', async () => {
    const fake = await FakeImplementation.start();
    await fake.kill(); // a port nothing listens on
    const relay = await startTestRelay(fake.url, { reconnectMax: 400 });
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const attempts = relay.logs.filter((l) => /attempt \d+ to reach upstream/.test(l) || /cannot reach upstream/.test(l)).length;
      // Full jitter with a 1 s first ceiling and a 400 ms cap averages 200 ms a try: about 10 in 2 s, never hundreds.
      assert.ok(attempts >= 3 && attempts <= 40, `${attempts} attempts in 2 s`);
      const warnings = relay.logs.filter((l) => / WARN /.test(l) && /reach upstream/.test(l));
      assert.equal(warnings.length, 1, 'one warning for the whole series');
      assert.equal(relay.relay.hub.health().status, 'down');
      assert.match(relay.relay.hub.health().reason!, /never connected; cannot reach ws:\/\/127\.0\.0\.1:\d+\/: connect ECONNREFUSED/);
      await fake.restart();
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link once the implementation is there');
      assert.ok(relay.logs.some((l) => /reachable again after \d+ failed attempt/.test(l)));
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});
