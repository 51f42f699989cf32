// Many accounts, one relay: three fake implementations with distinct self_ids, one dialled over forward WS and
// two dialling one reverse listener. Each account's events reach only its own clients on every downstream path,
// in order; calls reach only their account; one account's outage leaves the others' clients alone; kept events
// are per account; a reload adds and removes an account. Then the edges: the default account, a second link
// announcing a served self_id, an implementation without X-Self-ID, a listener swapped for a dialled link.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { HttpApiAdapter } from '../src/downstream/http-api.ts';
import { WsServerAdapter } from '../src/downstream/ws-server.ts';
import { RelayRetcode } from '../src/onebot.ts';
import type { ReverseListener } from '../src/upstream/reverse-listener.ts';
import { FakeFramework, FakeWebhook, type FrameworkSocket } from './fake-framework.ts';
import { FakeImplementation, type ReceivedCall } from './fake-impl.ts';
import { FakeReverseImplementation } from './fake-other-impls.ts';
import { closeCode, startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const A = 10001;
const B = 20002;
const C = 30003;
/** An account a reload brings. */
const D = 40004;

/** An implementation that dials the relay's listener, with its socket. */
interface DialIn {
  fake: FakeReverseImplementation;
  ws: WebSocket;
}

/** The three accounts behind one relay, and the fake frameworks it serves them to. */
interface Trio {
  relay: TestRelay;
  /** Forward WS: the relay dials it. First configured: the default account. */
  a: FakeImplementation;
  /** Both dial the relay's reverse listener. */
  b: DialIn;
  c: DialIn;
  listenUrl: string;
  /** http://HOST:PORT of the HTTP API. */
  api: string;
  /** A reverse target for every account. */
  framework: FakeFramework;
  /** A reverse target limited to account B. */
  limited: FakeFramework;
  webhook: FakeWebhook;
  stop(): Promise<void>;
}

async function dialIn(listenUrl: string, selfId: number): Promise<DialIn> {
  const fake = new FakeReverseImplementation(selfId);
  return { fake, ws: await fake.connect(`${listenUrl}/onebot/v11/ws`, 'Universal') };
}

/** Start the trio and wait until every account is up and every reverse and POST target serves it. */
async function startTrio(): Promise<Trio> {
  const a = await FakeImplementation.start({ selfId: A });
  const framework = await FakeFramework.start();
  const limited = await FakeFramework.start();
  const webhook = await FakeWebhook.start();
  const relay = await startTestRelay(undefined, {
    upstreams: [a.url, { listen: '127.0.0.1:0' }],
    http: ['127.0.0.1:0'],
    reverse: [`${framework.url}/onebot/v11/ws`, { url: `${limited.url}/ws`, accounts: [B] }],
    post: [{ url: webhook.url, heartbeat: 300 }],
  });
  const listenUrl = `ws://${(relay.relay.upstreams[1] as ReverseListener).listener.url}`;
  const b = await dialIn(listenUrl, B);
  const c = await dialIn(listenUrl, C);
  const trio: Trio = {
    relay,
    a,
    b,
    c,
    listenUrl,
    api: `http://${relay.relay.adapters.find((x) => x instanceof HttpApiAdapter)!.listener.url}`,
    framework,
    limited,
    webhook,
    stop: async () => {
      await relay.stop();
      trio.b.ws.terminate();
      trio.c.ws.terminate();
      await Promise.all([a.stop(), framework.stop(), limited.stop(), webhook.stop()]);
    },
  };
  await waitFor(() => accountsUp(relay).length === 3, 'three accounts up');
  await waitFor(() => liveSockets(framework).length === 3 && liveSockets(limited).length === 1, 'the reverse targets live');
  await waitFor(() => lifecycles(webhook, 'enable').length === 3, 'lifecycle enable posted for each account');
  return trio;
}

/** The self_ids of the accounts that are up. */
function accountsUp(relay: TestRelay): unknown[] {
  return relay.relay.hub
    .health()
    .accounts.filter((x) => x.status === 'up' && x.self_id !== null)
    .map((x) => x.self_id);
}

/** Open sockets that had their lifecycle connect (the relay's side of them is live). */
function liveSockets(framework: FakeFramework): FrameworkSocket[] {
  return framework.open().filter((s) => s.frames.some((f) => f.includes('"lifecycle"')));
}

/** The socket a reverse target has open for `selfId`. */
function socketOf(framework: FakeFramework, selfId: number): FrameworkSocket {
  const socket = framework.open().find((s) => s.headers['x-self-id'] === String(selfId));
  assert.ok(socket, `a socket for ${selfId}`);
  return socket;
}

/** The posts of meta events of `type` (and `subType`), as [X-Self-ID header, the body]. */
function metaPosts(webhook: FakeWebhook, type: string, subType?: string): [string, Record<string, any>][] {
  return webhook.posts
    .map((p): [string, Record<string, any>] => [String(p.headers['x-self-id']), JSON.parse(p.body)])
    .filter(([, body]) => body.meta_event_type === type && (subType === undefined || body.sub_type === subType));
}

/** The posts of lifecycle events with `subType`, as [X-Self-ID header, self_id in the body]. */
function lifecycles(webhook: FakeWebhook, subType: string): [string, number][] {
  return metaPosts(webhook, 'lifecycle', subType).map(([header, body]) => [header, body.self_id]);
}

/** The events POSTed for `selfId` (by X-Self-ID), parsed; each one's body says the same self_id. */
function postedFor(webhook: FakeWebhook, selfId: number): Record<string, any>[] {
  const posts = webhook.eventPosts().filter((p) => p.headers['x-self-id'] === String(selfId));
  const events = posts.map((p) => JSON.parse(p.body));
  for (const event of events) assert.equal(event.self_id, selfId, 'the body is of the account its X-Self-ID names');
  return events;
}

/** `count` events from the implementation of `selfId`; returns their texts. */
function emitFor(trio: Trio, selfId: number, count: number): string[] {
  if (selfId === A) return trio.a.emit(count);
  const { fake, ws } = selfId === B ? trio.b : trio.c;
  return fake.emit(ws, count);
}

const parsedAll = (texts: string[]) => texts.map((t) => JSON.parse(t));

/** A relay's WS client that waits for its lifecycle connect; returns it. */
async function liveClient(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = await TestClient.connect(url, headers);
  await client.waitForFrames(() => client.meta('lifecycle').length === 1, `lifecycle connect on ${url}`);
  return client;
}

/** The echo_params calls an implementation received with `marker` in their params. */
function marked(calls: ReceivedCall[], marker: string): ReceivedCall[] {
  return calls.filter((c) => c.action === 'echo_params' && c.params.marker === marker);
}

/** The call with `marker` reached the implementation of `selfId` once, and no other. */
function assertReachedOnly(trio: Trio, selfId: number, marker: string): void {
  const seen = {
    [A]: marked(trio.a.calls, marker).length,
    [B]: marked(trio.b.fake.calls, marker).length,
    [C]: marked(trio.c.fake.calls, marker).length,
  };
  assert.deepEqual(seen, { [A]: 0, [B]: 0, [C]: 0, [selfId]: 1 }, `"${marker}" reached ${selfId} only`);
}

async function httpCall(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, any>;
}

describe('many accounts, one relay', { timeout: 30_000 }, () => {
  it("every downstream path gets each account's events only, in order, with its lifecycle and heartbeats; calls reach only their account", async () => {
    const trio = await startTrio();
    const { relay, a, b, c, framework, limited, webhook } = trio;
    // The POST target answers every message with a quick operation: it must reach the event's own account.
    webhook.answer = (post) =>
      JSON.parse(post.body).post_type === 'message' ? { status: 200, body: JSON.stringify({ reply: 'quick' }) } : { status: 204 };
    const clients = {
      plain: await liveClient(relay.wsUrl),
      byPath: await liveClient(`${relay.wsUrl}/${B}/`),
      api: await TestClient.connect(`${relay.wsUrl}/${C}/api`),
      event: await liveClient(`${relay.wsUrl}/${C}/event`),
      byHeader: await liveClient(relay.wsUrl, { 'X-Self-ID': String(B) }),
      byQuery: await liveClient(`${relay.wsUrl}/?self_id=${C}`),
      eventByQuery: await liveClient(`${relay.wsUrl}/event?self_id=${A}`),
    };
    const accountOf = { plain: A, byPath: B, event: C, byHeader: B, byQuery: C, eventByQuery: A } as const;
    try {
      const sent: Record<number, string[]> = { [A]: [], [B]: [], [C]: [] };
      for (let round = 0; round < 3; round++) {
        sent[A]!.push(...a.emit(2));
        sent[B]!.push(...b.fake.emit(b.ws, 2));
        sent[C]!.push(...c.fake.emit(c.ws, 2));
      }
      for (const [name, selfId] of Object.entries(accountOf)) {
        const client = clients[name as keyof typeof accountOf];
        await client.waitForFrames(() => client.events().length >= 6, `6 events on ${name}`);
        await client.waitForFrames(() => client.meta('heartbeat').length >= 1, `a heartbeat on ${name}`);
        assert.deepEqual(client.events(), sent[selfId], `${name}: its account's events only, in order`);
        assert.deepEqual(
          client.meta('lifecycle').map((l) => [l.sub_type, l.self_id]),
          [['connect', selfId]],
          `${name}: its lifecycle`,
        );
        for (const beat of client.meta('heartbeat')) assert.equal(beat.self_id, selfId, `${name}: its heartbeats`);
      }
      assert.deepEqual(clients.api.frames, [], 'an API-only socket gets no events');

      // Reverse targets: one socket per account with its X-Self-ID; the limited one serves B alone.
      assert.deepEqual(
        framework
          .open()
          .map((s) => s.headers['x-self-id'])
          .sort(),
        [A, B, C].map(String),
      );
      assert.deepEqual(
        limited.open().map((s) => s.headers['x-self-id']),
        [String(B)],
      );
      for (const [target, selfId] of [
        [framework, A],
        [framework, B],
        [framework, C],
        [limited, B],
      ] as const) {
        const socket = socketOf(target, selfId);
        await waitFor(() => target.events(socket).length >= 6, `6 events on the reverse socket for ${selfId}`);
        await waitFor(() => target.parsed(socket).some((f) => f.meta_event_type === 'heartbeat'), `a heartbeat for ${selfId}`);
        assert.deepEqual(target.events(socket), sent[selfId], `reverse socket ${selfId}: its account's events only, in order`);
        for (const meta of target.parsed(socket).filter((f) => f.post_type === 'meta_event')) assert.equal(meta.self_id, selfId);
      }
      assert.equal(framework.duplicates + limited.duplicates, 0);

      // POST target: each account's events with its X-Self-ID, in order; lifecycle enable once per account.
      await waitFor(() => webhook.eventPosts().length === 18, 'every event POSTed');
      for (const selfId of [A, B, C]) assert.deepEqual(postedFor(webhook, selfId), parsedAll(sent[selfId]!), `POSTs for ${selfId}`);
      assert.deepEqual(
        lifecycles(webhook, 'enable').sort(),
        [A, B, C].map((id) => [String(id), id]),
      );
      await waitFor(
        () => new Set(metaPosts(webhook, 'heartbeat').map(([header]) => header)).size === 3,
        'heartbeats POSTed for each account',
      );
      for (const [header, beat] of metaPosts(webhook, 'heartbeat'))
        assert.equal(String(beat.self_id), header, 'a heartbeat of its X-Self-ID');

      // Quick operations from the POST target: each on its own event's account.
      const quick = { [A]: a.calls, [B]: b.fake.calls, [C]: c.fake.calls };
      await waitFor(
        () => Object.values(quick).every((calls) => calls.filter((x) => x.action === '.handle_quick_operation').length === 6),
        'each quick operation upstream',
      );
      for (const [selfId, calls] of Object.entries(quick)) {
        const contexts = calls
          .filter((x) => x.action === '.handle_quick_operation')
          .map((x) => (x.params.context as { self_id: number }).self_id);
        assert.deepEqual(contexts, Array(6).fill(Number(selfId)), `quick operations on ${selfId} are of its events`);
      }

      // Calls: from every WS path, each reaches its own account's implementation only.
      const callers = { ...accountOf, api: C } as Record<string, number>;
      for (const [name, selfId] of Object.entries(callers)) {
        if (name === 'event' || name === 'eventByQuery') continue; // event-only sockets carry no calls
        const client = clients[name as keyof typeof clients];
        const login = await client.call('get_login_info', {}, `login-${name}`);
        assert.equal(login.data.user_id, selfId, `${name} is logged in as its account`);
        assert.equal((await client.call('echo_params', { marker: `ws-${name}` }, name)).status, 'ok');
        assertReachedOnly(trio, selfId, `ws-${name}`);
      }
      // HTTP API: by path, X-Self-ID, self_id in the params; none names the default, the first configured.
      const http = [
        [`/${B}/echo_params`, { marker: 'http-path' }, {}, B],
        ['/echo_params', { marker: 'http-header' }, { 'X-Self-ID': String(C) }, C],
        ['/echo_params', { marker: 'http-params', self_id: B }, {}, B],
        ['/echo_params', { marker: 'http-default' }, {}, A],
      ] as const;
      for (const [path, params, headers, selfId] of http) {
        const reply = await httpCall(`${trio.api}${path}`, params, headers);
        assert.equal(reply.status, 'ok');
        assertReachedOnly(trio, selfId, params.marker);
      }
      const unknown = await httpCall(`${trio.api}/40004/get_status`, {});
      assert.equal(unknown.retcode, RelayRetcode.notConnected, 'an account the relay does not have is refused at once');
      // A reverse target's calls go to the account of the socket they came on.
      for (const [target, selfId, marker] of [
        [framework, C, 'reverse-c'],
        [limited, B, 'limited-b'],
      ] as const) {
        socketOf(target, selfId).ws.send(JSON.stringify({ action: 'echo_params', params: { marker }, echo: marker }));
        await waitFor(() => target.parsed(socketOf(target, selfId)).some((f) => f.echo === marker), `the reply on ${marker}`);
        assertReachedOnly(trio, selfId, marker);
      }
    } finally {
      for (const client of Object.values(clients)) client.close();
      await trio.stop();
    }
  });

  for (const victim of [A, B]) {
    it(`killing ${victim === A ? 'the forward-WS implementation' : 'one of two implementations on the listener'} leaves the other accounts' clients undisturbed; its own calls are held, then failed`, async () => {
      const trio = await startTrio();
      const { relay, framework, limited, webhook } = trio;
      const clients = new Map<number, TestClient>();
      for (const selfId of [A, B, C]) clients.set(selfId, await liveClient(`${relay.wsUrl}/${selfId}/`));
      const others = [A, B, C].filter((id) => id !== victim);
      try {
        await Promise.all([...clients.values()].map((cl) => cl.waitForFrames(() => cl.meta('heartbeat').length > 0, 'a heartbeat')));
        const beatsBefore = new Map([...clients].map(([id, cl]) => [id, cl.meta('heartbeat').length]));
        const reverseSockets = framework.sockets.length + limited.sockets.length;
        const healthz = async () => {
          const res = await fetch(`${relay.adminUrl}/healthz`);
          const body = (await res.json()) as { accounts: { self_id: number }[] };
          assert.deepEqual(
            body.accounts.map((x) => x.self_id),
            [A, B, C],
            '/healthz lists every account',
          );
          return res.status;
        };
        assert.equal(await healthz(), 200, 'every account up');

        if (victim === A) await trio.a.kill();
        else trio.b.ws.terminate();
        await waitFor(() => !accountsUp(relay).includes(victim), 'the relay to see the victim down');
        const victimClient = clients.get(victim)!;
        await victimClient.waitForFrames(
          () => victimClient.meta('heartbeat').some((h) => h.status.good === false && h.status.online === false),
          "a good=false heartbeat on the victim's client",
        );
        await waitFor(
          () => metaPosts(webhook, 'heartbeat').some(([header, beat]) => header === String(victim) && !beat.status.good),
          'a good=false heartbeat POSTed for the victim',
        );
        const health = relay.relay.hub.health();
        assert.deepEqual(
          health.accounts.map((x) => [x.self_id, x.status]).sort(),
          [A, B, C].map((id) => [id, id === victim ? 'down' : 'up']),
        );
        assert.equal(health.status, 'down', 'healthyWhen "all": one account down is down');
        assert.match(health.reason ?? '', new RegExp(`^${victim}: `));
        assert.equal(await healthz(), 503);
        const one = async (selfId: number | string) => (await fetch(`${relay.adminUrl}/healthz/${selfId}`)).status;
        assert.deepEqual(
          await Promise.all([A, B, C, 99999].map(one)),
          [...[A, B, C].map((id) => (id === victim ? 503 : 200)), 404],
          '/healthz/<self_id> answers for one account; 404 for none',
        );
        relay.settings.healthyWhen = 'any';
        assert.equal(await relay.relay.reload(), true);
        assert.equal(await healthz(), 200, 'healthyWhen "any": one account up is enough');

        // Its client's call is held for the hold time, then failed; the others' calls are answered at once meanwhile.
        const held = Date.now();
        const victimCall = victimClient.call('get_status', {}, 'held', 5000);
        const victimHttp = httpCall(`${trio.api}/${victim}/get_status`, {});
        for (const selfId of others) {
          const asked = Date.now();
          assert.equal((await clients.get(selfId)!.call('get_status', {}, `during-${selfId}`)).status, 'ok');
          assert.equal((await httpCall(`${trio.api}/${selfId}/get_status`, {})).status, 'ok');
          assert.ok(Date.now() - asked < 500, `${selfId}'s calls answered at once (${Date.now() - asked} ms)`);
        }
        const emitted = new Map(others.map((id) => [id, emitFor(trio, id, 2)]));
        for (const [selfId, sent] of emitted) {
          const cl = clients.get(selfId)!;
          await cl.waitForFrames(() => cl.events().length === 2, `${selfId}'s events during the outage`);
          assert.deepEqual(cl.events(), sent);
        }
        for (const reply of [await victimCall, await victimHttp]) {
          assert.equal(reply.retcode, RelayRetcode.notConnected);
          assert.match(String(reply.message), /upstream not connected: waited 1000 ms/);
        }
        assert.ok(Date.now() - held >= 900, `held for the hold time (${Date.now() - held} ms)`);
        // A few more heartbeats: none of the others' says good=false.
        await new Promise((r) => setTimeout(r, 500));
        for (const selfId of others) {
          const beats = clients.get(selfId)!.meta('heartbeat').slice(beatsBefore.get(selfId));
          assert.ok(beats.length >= 3, `${selfId} kept getting heartbeats`);
          assert.ok(
            beats.every((h) => h.status.good && h.status.online),
            `${selfId}'s heartbeats all said good`,
          );
          for (const target of [framework, ...(selfId === B ? [limited] : [])]) {
            const beatsThere = target.parsed(socketOf(target, selfId)).filter((f) => f.meta_event_type === 'heartbeat');
            assert.ok(
              beatsThere.every((h) => h.status.good),
              `${selfId}'s reverse socket heartbeats all said good`,
            );
          }
        }
        for (const [selfId, cl] of clients) assert.equal(cl.ws.readyState, cl.ws.OPEN, `${selfId}'s client still connected`);
        assert.equal(framework.sockets.length + limited.sockets.length, reverseSockets, 'no reverse socket closed or redialled');
        assert.equal(framework.open().length + limited.open().length, reverseSockets);
        assert.deepEqual(lifecycles(webhook, 'disable'), [], 'no account said disable');
        for (const [header, beat] of metaPosts(webhook, 'heartbeat')) {
          if (header !== String(victim)) assert.ok(beat.status.good, `${header}'s POSTed heartbeats all said good`);
        }

        // It comes back: its clients, which stayed, get its events again.
        if (victim === A) await trio.a.restart();
        else trio.b = await dialIn(trio.listenUrl, B);
        await waitFor(() => accountsUp(relay).length === 3, 'the victim back');
        assert.equal(await healthz(), 200);
        const after = emitFor(trio, victim, 2);
        await victimClient.waitForFrames(() => victimClient.events().length === 2, "the victim's events after its return");
        assert.deepEqual(victimClient.events(), after);
      } finally {
        for (const client of clients.values()) client.close();
        await trio.stop();
      }
    });
  }

  it("keeps events per account: named clients, reverse targets and POST targets each get back their own account's, in order", async () => {
    const trio = await startTrio();
    const { relay, framework, limited, webhook } = trio;
    const server = relay.relay.adapters.find((x) => x instanceof WsServerAdapter)!;
    const named = (selfId: number) => liveClient(`${relay.wsUrl}/${selfId}/?client=bot`);
    let clients = [await named(A), await named(B)];
    try {
      for (const client of clients) client.close();
      await waitFor(() => server.clients().filter((x) => !x.connected).length === 2, 'both named clients away');
      await framework.stop();
      await webhook.stop();
      await waitFor(
        () => relay.logs.filter((l) => /reverse target .* closed/.test(l)).length === 3,
        "the reverse target's three sockets seen closed",
      );
      const kept: Record<number, string[]> = { [A]: [], [B]: [], [C]: [] };
      for (let round = 0; round < 2; round++) for (const selfId of [A, B, C]) kept[selfId]!.push(...emitFor(trio, selfId, 2));

      await framework.restart();
      await webhook.restart();
      clients = [await named(A), await named(B)];
      const live: Record<number, string[]> = { [A]: [], [B]: [], [C]: [] };
      await waitFor(() => liveSockets(framework).length === 3, 'the reverse target back');
      for (const selfId of [A, B, C]) live[selfId] = emitFor(trio, selfId, 1);
      const expected = (selfId: number) => [...kept[selfId]!, ...live[selfId]!];

      for (const [client, selfId] of [
        [clients[0]!, A],
        [clients[1]!, B],
      ] as const) {
        await client.waitForFrames(() => client.events().length === 5, `named client on /${selfId}/: kept and live events`);
        assert.deepEqual(client.events(), expected(selfId), `named client on /${selfId}/ got its own account's, in order`);
      }
      for (const selfId of [A, B, C]) {
        const sockets = framework.sockets.filter((x) => x.headers['x-self-id'] === String(selfId));
        const received = () => sockets.flatMap((x) => framework.events(x));
        await waitFor(() => received().length >= 5, `the reverse sockets for ${selfId} to catch up`, 8000);
        assert.deepEqual(received(), expected(selfId), `reverse target, ${selfId}: every event once, in order`);
        await waitFor(() => postedFor(webhook, selfId).length === 5, `the POSTs for ${selfId} to catch up`, 8000);
        assert.deepEqual(postedFor(webhook, selfId), parsedAll(expected(selfId)), `POST target, ${selfId}: its own, in order`);
      }
      // The limited target never went away: it got B's events live, and nothing of the others.
      const onLimited = limited.sockets.flatMap((x) => limited.events(x));
      assert.deepEqual(onLimited, expected(B));
    } finally {
      for (const client of clients) client.close();
      await trio.stop();
    }
  });

  it('a reload adds an upstream (its account is served everywhere) and removes one (its clients hear disable and are closed cleanly)', async () => {
    const trio = await startTrio();
    const { relay, framework, limited, webhook } = trio;
    const d = await FakeImplementation.start({ selfId: D });
    const clients = new Map<number, TestClient>();
    for (const selfId of [A, B, C]) clients.set(selfId, await liveClient(`${relay.wsUrl}/${selfId}/`));
    // A client for an account the relay does not serve yet: it waits for it.
    const forD = await TestClient.connect(`${relay.wsUrl}/${D}/`);
    const bClosed = closeCode(trio.b.ws);
    const cClosed = closeCode(trio.c.ws);
    try {
      const [aUrl, listener] = relay.settings.upstreams!;
      relay.settings.upstreams = [aUrl!, listener!, d.url];
      assert.equal(await relay.relay.reload(), true);
      assert.ok(
        relay.logs.some((l) => l.includes(`reloaded: added upstream ${d.url}`)),
        'the reload says what it added',
      );
      await waitFor(() => accountsUp(relay).length === 4, 'the new account up');
      await forD.waitForFrames(() => forD.meta('lifecycle').length === 1, 'lifecycle connect for the waiting client');
      assert.equal(forD.meta('lifecycle')[0]!.self_id, D);
      await waitFor(() => liveSockets(framework).length === 4, 'the reverse target to dial the new account');
      await waitFor(() => lifecycles(webhook, 'enable').length === 4, 'lifecycle enable POSTed for the new account');
      assert.deepEqual(lifecycles(webhook, 'enable').at(-1), [String(D), D]);
      const fromD = d.emit(2);
      await forD.waitForFrames(() => forD.events().length === 2, "the new account's events");
      assert.deepEqual(forD.events(), fromD);
      await waitFor(
        () => framework.events(socketOf(framework, D)).length === 2 && postedFor(webhook, D).length === 2,
        'its events at the targets',
      );
      assert.deepEqual(framework.events(socketOf(framework, D)), fromD);
      assert.equal(limited.sockets.length, 1, 'the target limited to B does not dial it');
      for (const [selfId, client] of clients) {
        assert.deepEqual(client.events(), [], `${selfId}'s client got none of it`);
        assert.equal(client.meta('lifecycle').length, 1, `${selfId}'s client was not reconnected`);
      }

      // Remove the listener: B and C are no longer served.
      relay.settings.upstreams = [aUrl!, d.url];
      assert.equal(await relay.relay.reload(), true);
      assert.ok(
        relay.logs.some((l) => /reloaded: removed upstream listening on 127\.0\.0\.1:0/.test(l)),
        'the reload says what it removed',
      );
      for (const selfId of [B, C]) {
        const client = clients.get(selfId)!;
        await waitFor(() => client.ws.readyState === client.ws.CLOSED, `${selfId}'s client closed`);
        assert.equal((await client.closed).code, 1001, `${selfId}'s client closed cleanly`);
        assert.deepEqual(
          client.meta('lifecycle').map((l) => [l.sub_type, l.self_id]),
          [
            ['connect', selfId],
            ['disable', selfId],
          ],
        );
      }
      for (const [who, { ws }] of [
        ['B', trio.b],
        ['C', trio.c],
      ] as const) {
        await waitFor(() => ws.readyState === ws.CLOSED, `${who}'s implementation let go`);
        assert.equal(await (who === 'B' ? bClosed : cClosed), 1001, `${who}'s implementation let go cleanly`);
      }
      await waitFor(() => framework.open().length === 2 && limited.open().length === 0, "the removed accounts' reverse sockets closed");
      assert.deepEqual(
        framework
          .open()
          .map((x) => x.headers['x-self-id'])
          .sort(),
        [String(A), String(D)],
      );
      for (const target of [framework, limited]) {
        for (const socket of target.sockets.filter((x) => x.headers['x-self-id'] === String(B) || x.headers['x-self-id'] === String(C))) {
          assert.deepEqual(
            target
              .parsed(socket)
              .filter((f) => f.meta_event_type === 'lifecycle')
              .map((f) => f.sub_type),
            ['connect', 'disable'],
          );
        }
      }
      await waitFor(() => lifecycles(webhook, 'disable').length === 2, 'lifecycle disable POSTed for the removed accounts');
      assert.deepEqual(lifecycles(webhook, 'disable').sort(), [
        [String(B), B],
        [String(C), C],
      ]);
      assert.deepEqual(relay.relay.hub.selfIds(), [A, D]);
      assert.deepEqual(
        relay.relay.hub.health().accounts.map((x) => x.self_id),
        [A, D],
      );
      assert.equal(clients.get(A)!.ws.readyState, clients.get(A)!.ws.OPEN, "A's client stays");
      assert.equal(forD.ws.readyState, forD.ws.OPEN, "D's client stays");
      const fromA = trio.a.emit(1);
      await clients.get(A)!.waitForFrames(() => clients.get(A)!.events().length === 1, "A's events still flow");
      assert.deepEqual(clients.get(A)!.events(), fromA);
    } finally {
      for (const client of [...clients.values(), forD]) client.close();
      await trio.stop();
      await d.stop();
    }
  });

  it('one reload that swaps the listener for a forward-WS upstream, and back, leaves no account of the removed one behind', async () => {
    const a = await FakeImplementation.start({ selfId: A });
    const d = await FakeImplementation.start({ selfId: D });
    const relay = await startTestRelay(undefined, { upstreams: [a.url, { listen: '127.0.0.1:0' }] });
    const listenUrlOf = () => `ws://${(relay.relay.upstreams[1] as ReverseListener).listener.url}`;
    let b = await dialIn(listenUrlOf(), B);
    const forB = await liveClient(`${relay.wsUrl}/${B}/`);
    let forD: TestClient | undefined;
    const allUp = (...selfIds: number[]) =>
      waitFor(
        () =>
          JSON.stringify(relay.relay.hub.health().accounts.map((x) => [x.self_id, x.status])) ===
          JSON.stringify(selfIds.map((id) => [id, 'up'])),
        `exactly ${selfIds.join(', ')} up`,
      );
    try {
      await allUp(A, B);
      relay.settings.upstreams = [a.url, d.url];
      assert.equal(await relay.relay.reload(), true);
      await allUp(A, D);
      assert.deepEqual(relay.relay.hub.selfIds(), [A, D]);
      assert.equal(relay.relay.hub.health().status, 'up');
      await waitFor(() => forB.ws.readyState === forB.ws.CLOSED, "B's client closed");
      assert.deepEqual(
        forB.meta('lifecycle').map((l) => l.sub_type),
        ['connect', 'disable'],
      );
      forD = await liveClient(`${relay.wsUrl}/${D}/`);

      relay.settings.upstreams = [a.url, { listen: '127.0.0.1:0' }];
      assert.equal(await relay.relay.reload(), true);
      await waitFor(() => forD!.ws.readyState === forD!.ws.CLOSED, "D's client closed");
      assert.deepEqual(
        forD.meta('lifecycle').map((l) => l.sub_type),
        ['connect', 'disable'],
      );
      b.ws.terminate();
      b = await dialIn(listenUrlOf(), B);
      await allUp(A, B);
      assert.deepEqual(relay.relay.hub.selfIds(), [A, B]);
    } finally {
      forB.close();
      forD?.close();
      b.ws.terminate();
      await relay.stop();
      await a.stop();
      await d.stop();
    }
  });

  it('the default account, for a client that names none, is the first configured one, not the first to come up', async () => {
    const a = await FakeImplementation.start({ selfId: A });
    const relay = await startTestRelay(undefined, { upstreams: [{ listen: '127.0.0.1:0' }, a.url], http: ['127.0.0.1:0'] });
    const listenUrl = `ws://${(relay.relay.upstreams[0] as ReverseListener).listener.url}`;
    let b: DialIn | undefined;
    let client: TestClient | undefined;
    try {
      await waitFor(() => accountsUp(relay).length === 1, 'A up first');
      b = await dialIn(listenUrl, B);
      await waitFor(() => accountsUp(relay).length === 2, 'B up');
      client = await liveClient(relay.wsUrl);
      assert.equal(client.meta('lifecycle')[0]!.self_id, B);
      assert.equal((await client.call('get_login_info', {}, 1)).data.user_id, B);
      const api = relay.relay.adapters.find((x) => x instanceof HttpApiAdapter)!;
      assert.equal((await httpCall(`http://${api.listener.url}/get_login_info`, {})).data.user_id, B);
      assert.equal(relay.relay.hub.health().self_id, B, "/healthz's top-level self_id is the default account's");
    } finally {
      client?.close();
      await relay.stop();
      b?.ws.terminate();
      await a.stop();
    }
  });

  it('a second link announcing a self_id a live link serves takes it over, with a warning; the first serves again when it goes', async () => {
    const a = await FakeImplementation.start({ selfId: A });
    const relay = await startTestRelay(undefined, { upstreams: [a.url, { listen: '127.0.0.1:0' }] });
    const listenUrl = `ws://${(relay.relay.upstreams[1] as ReverseListener).listener.url}`;
    let twin: DialIn | undefined;
    const client = await liveClient(`${relay.wsUrl}/${A}/`);
    try {
      twin = await dialIn(listenUrl, A);
      await waitFor(() => relay.relay.hub.health().accounts.filter((x) => x.status === 'up').length === 2, 'both links up');
      const warning = relay.logs.find((l) => / WARN /.test(l) && l.includes(`self_id ${A} is announced by`));
      assert.ok(warning, 'a warning says so');
      assert.match(warning, /the newer link serves it now/);
      assert.equal((await client.call('echo_params', { marker: 'to-twin' }, 1)).status, 'ok');
      assert.deepEqual([marked(a.calls, 'to-twin').length, marked(twin.fake.calls, 'to-twin').length], [0, 1], 'calls go to the newer');
      a.emit(1); // from the link that no longer serves A: dropped
      const fromTwin = twin.fake.emit(twin.ws, 2);
      await client.waitForFrames(() => client.events().length === 2, "the newer link's events");
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(client.events(), fromTwin, "only the serving link's events");

      twin.ws.terminate();
      await waitFor(() => relay.relay.hub.health().accounts.filter((x) => x.status === 'up').length === 1, 'the newer link gone');
      assert.equal((await client.call('echo_params', { marker: 'back' }, 2)).status, 'ok');
      assert.equal(marked(a.calls, 'back').length, 1, 'the first link serves again');
      const again = a.emit(1);
      await client.waitForFrames(() => client.events().length === 3, "the first link's events again");
      assert.deepEqual(client.events(), [...fromTwin, ...again]);
      assert.equal(client.meta('lifecycle').length, 1, 'the client stayed connected throughout');
      assert.ok(
        client.meta('heartbeat').every((h) => h.status.good),
        'and was never told the account was down',
      );
    } finally {
      client.close();
      await relay.stop();
      twin?.ws.terminate();
      await a.stop();
    }
  });

  it('an implementation that dials the listener without X-Self-ID gets an account of its own (from get_login_info), not the live one there', async () => {
    const framework = await FakeFramework.start();
    const relay = await startTestRelay(undefined, { upstreams: [{ listen: '127.0.0.1:0' }], reverse: [`${framework.url}/ws`] });
    const listenUrl = `ws://${(relay.relay.upstreams[0] as ReverseListener).listener.url}`;
    const b = await dialIn(listenUrl, B);
    const unnamed = new FakeReverseImplementation(D);
    let ws: WebSocket | undefined;
    try {
      const byPathB = await liveClient(`${relay.wsUrl}/${B}/`);
      ws = await unnamed.connect(`${listenUrl}/`, 'Universal', undefined, { 'X-Self-ID': '' });
      await waitFor(() => accountsUp(relay).length === 2, 'two accounts up');
      assert.deepEqual(relay.relay.hub.selfIds(), [B, D]);
      assert.ok(!relay.logs.some((l) => l.includes('self_id changed')), 'no account changed hands');
      await waitFor(() => liveSockets(framework).length === 2, 'the reverse target to dial it');
      const fromB = b.fake.emit(b.ws, 1);
      const fromD = unnamed.emit(ws, 1);
      await waitFor(() => framework.events(socketOf(framework, D)).length === 1, 'its event on its reverse socket');
      assert.deepEqual(framework.events(socketOf(framework, D)), fromD);
      await byPathB.waitForFrames(() => byPathB.events().length === 1, "B's event");
      assert.deepEqual(byPathB.events(), fromB);
      assert.equal(byPathB.meta('lifecycle').length, 1, "B's client undisturbed");
      byPathB.close();
    } finally {
      ws?.terminate();
      b.ws.terminate();
      await relay.stop();
      await framework.stop();
    }
  });
});
