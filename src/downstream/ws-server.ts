// Forward WebSocket server for clients: `/` universal, `/api` calls only, `/event` events only.
import { type Context, Hono } from 'hono';
import { requireToken } from '../auth.ts';
import { closeText } from '../dial.ts';
import { type BufferLimits, EventBuffer } from '../event-buffer.ts';
import type { Accounts, Selector } from '../hub.ts';
import { tuneSocket } from '../keepalive.ts';
import { type Address, formatAddress, HttpListener, type ListenerBindings, type OnWebSocket, onMessage, upgradeTo } from '../listen.ts';
import type { Logger } from '../log.ts';
import type { SelfId } from '../onebot.ts';
import { EndpointProfiles } from '../profile/endpoint-profiles.ts';
import type { OutgoingEvent } from '../profile/profile.ts';
import { parseSelfId } from '../upstream/upstream.ts';
import { addTotals, type ClientStatus, clientStatus, type EndpointTotals, type EventAdapter, type KeptEvents } from './adapter.ts';
import { type Role, type SessionOptions, WsSession } from './ws-session.ts';

export interface WsServerOptions {
  listen: Address;
  token: string;
  /** Web pages that may connect (browsers send Origin; frameworks do not). */
  allowOrigins: readonly string[];
  maxPayload: number;
  session: SessionOptions;
  buffer: BufferLimits;
}

/** Named clients kept for while away; a name past this many (a client naming itself anew each time) ends the longest-away one. */
export const MAX_AWAY_NAMES = 16;

const ROUTES: [string, Role][] = [
  ['/', 'universal'],
  ['/api', 'api'],
  ['/event', 'event'],
];

/** A client that named itself: its live session, and what is kept for it while it is away. */
interface NamedClient {
  /** Its account selector and name: "bot" on /10001/ and "bot" on /10002/ are two. */
  key: string;
  name: string;
  session: WsSession | undefined;
  buffer: EventBuffer;
  /** The account its events come from, once known. */
  selfId: SelfId | undefined;
  /** Away since (for forgetting the longest away first). */
  awaySince: number;
}

export class WsServerAdapter implements EventAdapter {
  readonly listener: HttpListener;
  private readonly sessions = new Set<WsSession>();
  /** The sessions each account is served to (by String(self_id)), once they know it: an event visits only its own. */
  private readonly serving = new Map<string, Set<WsSession>>();
  /** Clients that name themselves (?client=NAME or X-Client-Name), by account and name: their events are kept while away. */
  private readonly named = new Map<string, NamedClient>();
  /** Handed over to its restarted self: its clients leaving no longer make them away here. */
  private retired = false;
  /** What sessions that ended and buffers that were forgotten had counted. */
  private readonly gone: EndpointTotals = { delivered: 0, dropped: 0, failed: 0 };
  private stopWatching: () => void = () => {};

  constructor(
    private readonly options: WsServerOptions,
    private readonly accounts: Accounts,
    private readonly log: Logger,
    /** Its clients' delivery profiles, by name. */
    private profiles = new EndpointProfiles(),
  ) {
    const app = new Hono<{ Bindings: ListenerBindings }>({ strict: false });
    app.use('*', requireToken(options.token));
    for (const [path, role] of ROUTES) {
      const upgrade = upgradeTo((c) => this.connection(c, role, options.session));
      const notWs = (c: Context) => c.text('This is a OneBot v11 WebSocket endpoint: connect with a WebSocket client.', 426);
      app.get(path, upgrade, notWs);
      // /<self_id>/, /<self_id>/api, /<self_id>/event: one account of several.
      app.get(`/:selfId{[0-9]+}${path === '/' ? '' : path}`, upgrade, notWs);
    }
    app.all('*', (c) =>
      c.text('Not found: onebot-relay serves WebSocket clients at /, /api and /event (or /<self_id>/, /<self_id>/api, ...).', 404),
    );
    this.listener = new HttpListener('WebSocket server', options.listen, app.fetch, {
      browsers: { allowOrigins: options.allowOrigins },
      log,
      webSockets: { maxPayload: options.maxPayload },
    });
  }

  get name(): string {
    return `ws://${this.listener.url}/ (WebSocket server: /, /api, /event)`;
  }

  clients(): ClientStatus[] {
    const connected = [...this.sessions].map((session) => {
      const buffer = session.name === undefined ? undefined : this.named.get(namedKey(session.selector, session.name))?.buffer;
      return { ...session.status(), buffered: buffer?.size ?? 0, dropped: buffer?.dropped ?? 0 };
    });
    const away = this.away().map((client) =>
      clientStatus({
        label: `client "${client.name}" (away)`,
        role: 'universal',
        name: client.name,
        buffered: client.buffer.size,
        dropped: client.buffer.dropped,
      }),
    );
    return [...connected, ...away];
  }

  /**
   * Every named client with what is kept for it, longest away first and connected ones last: on the
   * restarted server they are all away at first. This server keeps nothing more.
   */
  handOver(): KeptEvents {
    const clients = [...this.away(), ...[...this.named.values()].filter((c) => c.session)];
    const kept: KeptEvents = new Map(clients.map((c) => [c.key, c.buffer.takeAll()]));
    this.retired = true;
    return kept;
  }

  adopt(kept: KeptEvents): void {
    for (const [key, events] of kept) {
      const client = this.namedClient(key);
      client.buffer.adopt(events);
      this.leave(client);
    }
  }

  totals(): EndpointTotals {
    const buffers = [...this.named.values()].map((c) => ({ delivered: 0, dropped: c.buffer.dropped, failed: 0 }));
    return addTotals([...[...this.sessions].map((s) => s.status()), ...buffers], { ...this.gone });
  }

  /** Named clients known before the relay stopped (the spool keeps their names) are away until they return. */
  open(): Promise<void> {
    const prefix = this.spoolPrefix();
    for (const key of this.options.buffer.spool?.keys(prefix) ?? []) {
      const client = this.namedClient(key.slice(prefix.length));
      client.buffer.recover();
      this.leave(client);
    }
    this.stopWatching = this.accounts.onAccount((selfId, change) => {
      if (change === 'removed') this.retire(selfId);
    });
    return this.listener.open();
  }

  deliver(event: OutgoingEvent, selfId: SelfId): void {
    for (const session of this.serving.get(String(selfId)) ?? []) {
      const copy = event.copyFor(session.profile);
      if (copy === undefined) continue;
      if (session.name === undefined) {
        session.deliver(copy);
        continue;
      }
      const client = this.named.get(namedKey(session.selector, session.name));
      // Its socket is closing: the event waits for its return. (A replaced socket gets nothing: the newer one does.)
      if (client?.session === session && !session.deliver(copy)) client.buffer.push(copy.text);
    }
    for (const client of this.named.values()) {
      if (client.session || client.selfId !== selfId) continue;
      const text = event.for(this.profiles.for(client.name));
      if (text !== undefined) client.buffer.push(text);
    }
  }

  useProfiles(profiles: EndpointProfiles): void {
    this.profiles = profiles;
    for (const session of this.sessions) session.profile = profiles.for(session.name);
  }

  async close(): Promise<void> {
    this.stopWatching();
    for (const client of this.named.values()) client.buffer.abandon();
    await Promise.all([...this.sessions].map((session) => session.close(1001, 'relay shutting down', true)));
    await this.listener.close();
  }

  /** An account is no longer served: its clients hear lifecycle disable and are closed; what was kept for it goes. */
  private retire(selfId: SelfId): void {
    for (const session of this.sessions) {
      if (session.selfId === selfId) void session.close(1001, `account ${selfId} is no longer served`, true);
    }
    for (const client of this.named.values()) {
      if (client.selfId !== selfId) continue;
      if (client.buffer.size)
        this.log.warn(`client "${client.name}": account ${selfId} is no longer served; ${client.buffer.size} kept event(s) not delivered`);
      this.forget(client); // not away after a restart either
    }
  }

  /** What a client's socket is for: only what this keeps from the request stays with it (see upgradeTo). */
  private connection(c: Context<{ Bindings: ListenerBindings }>, role: Role, options: SessionOptions): OnWebSocket {
    const socket = c.env.incoming.socket;
    const name = c.req.query('client') || c.req.header('x-client-name') || undefined;
    const selector = parseSelfId(c.req.param('selfId') ?? c.req.header('x-self-id') ?? c.req.query('self_id'));
    // Joined, one flat string: a template would make a chain of its pieces, kept with the session.
    const label = ['client ', name ? `"${name}" ` : '', socket.remoteAddress, ':', socket.remotePort, ' ', c.req.path].join('');
    return (ws) => {
      tuneSocket(socket);
      const session = new WsSession(ws, role, label, this.accounts, selector, options, this.log, name);
      onMessage(ws, (data) => session.receive(data), this.log);
      ws.on('close', (code: number, reason: Buffer) => this.closed(session, code, reason.toString()));
      session.profile = this.profiles.for(name);
      this.sessions.add(session);
      this.log.info(`${label} connected (${role})`);
      session.start((selfId) => {
        const sessions = this.serving.get(String(selfId)) ?? new Set();
        this.serving.set(String(selfId), sessions.add(session));
        const client = name === undefined ? undefined : this.named.get(namedKey(selector, name));
        if (client?.session === session) servedAs(client, selfId);
      });
      if (name !== undefined && session.receivesEvents) this.attachNamed(name, session);
    };
  }

  private closed(session: WsSession, code: number, reason: string): void {
    this.sessions.delete(session);
    const served = this.serving.get(String(session.selfId));
    if (served?.delete(session) && served.size === 0) this.serving.delete(String(session.selfId));
    this.gone.delivered += session.delivered;
    const client = session.name === undefined ? undefined : this.named.get(namedKey(session.selector, session.name));
    if (client?.session === session) {
      client.session = undefined;
      if (!this.retired) this.leave(client);
    }
    session.closed();
    this.log.info(`${session.label} disconnected: ${closeText(code, reason)}`);
  }

  /** One live session per name: a newer one replaces the older, and first gets what was kept for the name. */
  private attachNamed(name: string, session: WsSession): void {
    const client = this.namedClient(namedKey(session.selector, name));
    if (client.session) {
      this.log.warn(`client "${name}" connected again; closing its older connection`);
      void client.session.close(1008, 'replaced by a newer connection with the same client name');
    }
    client.session = session;
    client.buffer.claim();
    // Its account known already (start() ran first): before the replay; else once known (see connection()).
    if (session.selfId !== undefined) servedAs(client, session.selfId);
    session.replay(client.buffer);
  }

  private namedClient(key: string): NamedClient {
    let client = this.named.get(key);
    if (!client) {
      const slash = key.indexOf('/');
      const name = key.slice(slash + 1);
      const known: NamedClient = {
        key,
        name,
        session: undefined,
        buffer: new EventBuffer(`client "${name}"`, this.options.buffer, this.log, `${this.spoolPrefix()}${key}`),
        selfId: undefined,
        awaySince: 0,
      };
      this.accounts.whenKnown(parseSelfId(key.slice(0, slash)), (selfId) => {
        known.selfId ??= selfId;
      });
      this.named.set(key, known);
      client = known;
    }
    return client;
  }

  /** Named clients away, longest away first. */
  private away(): NamedClient[] {
    return [...this.named.values()].filter((c) => !c.session).sort((a, b) => a.awaySince - b.awaySince);
  }

  private leave(client: NamedClient): void {
    client.awaySince = ++awayOrder;
    const away = this.away();
    if (away.length <= MAX_AWAY_NAMES) return;
    const oldest = away[0]!;
    this.log.warn(
      `more than ${MAX_AWAY_NAMES} named clients away: forgetting client "${oldest.name}", the longest away, and its ${oldest.buffer.size} kept event(s)`,
    );
    this.forget(oldest);
  }

  /** A named client and what is kept for it go: counted as dropped. */
  private forget(client: NamedClient): void {
    this.named.delete(client.key);
    this.gone.dropped += client.buffer.dropped + client.buffer.size;
    client.buffer.remove();
  }

  /** What starts the spool keys of this server's named clients. */
  private spoolPrefix(): string {
    return `ws ${formatAddress(this.options.listen)} `;
  }
}

/** A named client's session is served `selfId`: kept events are for the account it had; it gets this one's from now on. */
function servedAs(client: NamedClient, selfId: SelfId): void {
  if (client.selfId !== undefined && client.selfId !== selfId) client.buffer.discard();
  client.selfId = selfId;
}

/** Orders departures: a counter, since two can happen within one millisecond. */
let awayOrder = 0;

/** Named clients are per account: "bot" on /10001/ and "bot" on /10002/ are two. */
function namedKey(selector: Selector, name: string): string {
  return `${selector ?? ''}/${name}`;
}
