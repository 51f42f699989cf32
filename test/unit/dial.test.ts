// Redialler (dial.ts) on its own, against a real WebSocket server on 127.0.0.1, with a mocked clock: up only after
// SETTLE_MS (or when its owner says so), a socket refused at once counted as a failed attempt, the next
// attempt after the backoff, and nothing after stop. test/upstream.test.ts and test/reverse-ws.test.ts show
// its two users over real sockets and real time.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { type DialTarget, type RedialEvents, Redialler, SETTLE_MS, type SocketClosed } from '../../src/dial.ts';
import { mockClock, recordingLogger } from './kit.ts';

/** Each delay is half its ceiling: 500, 1000, 2000 ... */
const OPTIONS = {
  handshakeTimeout: 5000,
  maxPayload: 1 << 20,
  reconnect: { base: 1000, cap: 8000, stableAfter: 10_000, random: () => 0.5 },
};

/** Things in the order they come, taken one at a time. */
class Inbox<T> {
  private readonly items: T[] = [];
  private waiting: ((item: T) => void) | undefined;

  push(item: T): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(item);
    else this.items.push(item);
  }

  next(): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  get length(): number {
    return this.items.length;
  }
}

type Heard = { event: 'open' } | { event: 'up' } | { event: 'closed'; closed: SocketClosed };

/** A WebSocket server on 127.0.0.1 (refusing every handshake with `refuse`), and a Redialler dialling it. */
async function setup(t: TestContext, target: Partial<DialTarget> = {}, refuse?: number) {
  const clock = mockClock(t);
  const { log, messages } = recordingLogger();
  const requests: IncomingMessage[] = [];
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info, done) => {
      requests.push(info.req);
      done(refuse === undefined, refuse);
    },
  });
  await once(wss, 'listening');
  const sockets = new Inbox<WebSocket>();
  wss.on('connection', (ws) => sockets.push(ws));
  const heard = new Inbox<Heard>();
  const events: RedialEvents = {
    open: () => heard.push({ event: 'open' }),
    up: () => heard.push({ event: 'up' }),
    closed: (closed) => heard.push({ event: 'closed', closed }),
  };
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  const redial = new Redialler(`peer ${url}`, { url, token: '', ...target }, OPTIONS, events, log);
  t.after(() => {
    redial.stop();
    redial.socket?.terminate();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
  /** The next thing the owner hears, which must be `event`. */
  const next = async <E extends Heard['event']>(event: E) => {
    const got = await heard.next();
    assert.equal(got.event, event);
    return got as Extract<Heard, { event: E }>;
  };
  return { clock, messages, requests, sockets, heard, redial, next, url };
}

describe('Redialler', () => {
  it('counts a socket up once it has lasted SETTLE_MS, and dials again after the backoff when it is lost', async (t) => {
    const { clock, messages, sockets, redial, next, url } = await setup(t);
    redial.start();
    const first = await sockets.next();
    await next('open');
    clock.tick(SETTLE_MS - 1);
    assert.equal(redial.isUp, false, `not up before ${SETTLE_MS} ms`);
    clock.tick(1);
    assert.equal(redial.isUp, true);
    await next('up');
    first.close(1001, 'going away');
    const { closed } = await next('closed');
    assert.deepEqual(closed, { code: 1001, reason: 'going away', wasUp: true, lastError: undefined });
    assert.equal(redial.isUp, false);
    assert.equal(redial.problem, undefined, 'a lost socket is not a failed attempt');
    assert.deepEqual(messages('warn'), []);
    clock.tick(499);
    assert.equal(redial.socket, undefined, 'no attempt before the backoff delay');
    clock.tick(1);
    assert.ok(redial.socket, 'an attempt after it');
    await sockets.next();
    await next('open');
    assert.deepEqual(messages('info'), [`connecting to peer ${url}`, `connecting to peer ${url}`], 'once per outage');
  });

  it('counts a socket the peer closes before SETTLE_MS as a failed attempt, with its close code and reason', async (t) => {
    const { clock, messages, sockets, heard, redial, next, url } = await setup(t);
    redial.start();
    (await sockets.next()).close(1008, 'Duplicate X-Self-ID');
    await next('open');
    const { closed } = await next('closed');
    assert.equal(closed.wasUp, false);
    const why = 'closed with code 1008 "Duplicate X-Self-ID" as soon as it opened';
    assert.equal(redial.problem, why);
    assert.deepEqual(messages('warn'), [`cannot reach peer ${url}: ${why}; retrying with backoff (at most 8000 ms apart)`]);
    clock.tick(500);
    (await sockets.next()).close(1008, 'Duplicate X-Self-ID');
    await next('open');
    await next('closed');
    clock.tick(SETTLE_MS);
    assert.equal(heard.length, 0, 'never up');
    assert.equal(messages('warn').length, 1, 'the second failure is summarised');
    assert.deepEqual(messages('info'), [`connecting to peer ${url}`], 'retries say "connecting" at debug level');
  });

  it("sends the token and headers, and explains a refused handshake in its owner's words", async (t) => {
    const explain = (why: string) => `${why} (check the token)`;
    const { requests, redial, next } = await setup(t, { token: 'sesame', headers: { 'X-Self-ID': '10001' }, explain }, 403);
    redial.start();
    const { closed } = await next('closed');
    assert.equal(requests[0]!.headers.authorization, 'Bearer sesame');
    assert.equal(requests[0]!.headers['x-self-id'], '10001');
    assert.deepEqual(closed, { code: 1006, reason: '', wasUp: false, lastError: 'handshake rejected with HTTP 403 (check the token)' });
    assert.equal(redial.problem, 'handshake rejected with HTTP 403 (check the token)');
  });

  it('is up at once when its owner says so (the peer spoke), and not twice', async (t) => {
    const { clock, redial, heard, next } = await setup(t);
    redial.start();
    await next('open');
    redial.up();
    assert.equal(redial.isUp, true);
    await next('up');
    redial.up();
    clock.tick(SETTLE_MS);
    assert.equal(heard.length, 0, 'the settle timer says nothing more');
  });

  it("drops a socket its owner refuses (a token refusal in the first frame) as a failed attempt for the owner's reason", async (t) => {
    const { redial, next } = await setup(t);
    redial.start();
    await next('open');
    redial.refuse('the implementation refused the token');
    const { closed } = await next('closed');
    assert.equal(closed.wasUp, false);
    assert.equal(redial.problem, 'the implementation refused the token');
  });

  it('dials no second socket while one is open or opening, nor before the last one has closed', async (t) => {
    const { clock, sockets, redial, next } = await setup(t);
    redial.start();
    const first = redial.socket!;
    redial.start();
    assert.equal(redial.socket, first);
    await next('open');
    await sockets.next();
    first.terminate();
    await next('closed');
    clock.tick(500);
    assert.notEqual(redial.socket, first);
    assert.equal(first.readyState, first.CLOSED, 'the next is dialled once the last has closed');
    await sockets.next();
  });

  it('makes no attempt once stopped, and logs no failure for the socket its owner then closes', async (t) => {
    const { clock, messages, sockets, redial, next } = await setup(t);
    redial.start();
    await next('open');
    await sockets.next();
    redial.stop();
    redial.socket!.terminate();
    const { closed } = await next('closed');
    assert.equal(closed.wasUp, false);
    clock.tick(60_000);
    assert.equal(redial.socket, undefined);
    assert.equal(sockets.length, 0);
    assert.deepEqual(messages('warn'), []);
  });
});
