// Reverse WebSocket target: the relay dials a framework (NoneBot, Koishi, aiocqhttp) as the implementation would.
import type { WebSocket } from 'ws';
import pkg from '../../package.json' with { type: 'json' };
import { type DialOptions, dialWebSocket } from '../dial.ts';
import { type BufferLimits, EventBuffer } from '../event-buffer.ts';
import type { Hub } from '../hub.ts';
import { type Logger, redactUrl } from '../log.ts';
import { type ReconnectOptions, Reconnector, SETTLE_MS } from '../reconnector.ts';
import { type Adapter, addTotals, type ClientStatus, type EndpointTotals, type KeptEvents } from './adapter.ts';
import { type Role, type SessionOptions, WsSession } from './ws-session.ts';

export interface ReverseTarget {
  /** One Universal socket, or ... */
  url?: string;
  /** ... an API socket and an Event socket. */
  apiUrl?: string;
  eventUrl?: string;
  token: string;
}

export interface ReverseWsOptions extends DialOptions {
  session: SessionOptions;
  reconnect: ReconnectOptions;
  buffer: BufferLimits;
}

/** X-Client-Role as the frameworks check it: Koishi wants exactly "Universal". */
const ROLE_HEADER: Record<Role, string> = { universal: 'Universal', api: 'API', event: 'Event' };

export class ReverseWsAdapter implements Adapter {
  readonly name: string;
  private readonly sockets: ReverseSocket[];

  constructor(target: ReverseTarget, hub: Hub, options: ReverseWsOptions, log: Logger) {
    const roles: [Role, string][] = target.url
      ? [['universal', target.url]]
      : [
          ['api', target.apiUrl!],
          ['event', target.eventUrl!],
        ];
    this.sockets = roles.map(([role, url]) => new ReverseSocket(url, role, target.token, hub, options, log));
    this.name = `reverse WebSocket to ${roles.map(([, url]) => redactUrl(url)).join(' + ')}`;
  }

  clients(): ClientStatus[] {
    return this.sockets.map((s) => s.status());
  }

  totals(): EndpointTotals {
    return addTotals(this.clients());
  }

  handOver(): KeptEvents {
    return new Map(this.sockets.map((s) => [s.role, s.buffer?.takeAll() ?? []]));
  }

  adopt(kept: KeptEvents): void {
    for (const socket of this.sockets) socket.buffer?.adopt(kept.get(socket.role) ?? []);
  }

  async open(): Promise<void> {
    for (const socket of this.sockets) socket.start();
  }

  deliver(event: string): void {
    for (const socket of this.sockets) socket.deliver(event);
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => s.close()));
  }
}

/** One role's socket to one URL: at most one open or opening at a time, redialled with backoff. */
class ReverseSocket {
  private readonly target: string;
  private readonly reconnector: Reconnector;
  /** Events kept while the socket is down (event-carrying roles only). */
  readonly buffer: EventBuffer | undefined;
  private ws: WebSocket | undefined;
  private session: WsSession | undefined;
  private lastError: string | undefined;
  /** The socket has lasted SETTLE_MS: counted and logged as connected. */
  private settled = false;
  private settle: NodeJS.Timeout | undefined;
  /** Events delivered over earlier sockets. */
  private delivered = 0;
  private stopped = false;
  private cancelStart: () => void = () => {};

  constructor(
    private readonly url: string,
    readonly role: Role,
    private readonly token: string,
    private readonly hub: Hub,
    private readonly options: ReverseWsOptions,
    private readonly log: Logger,
  ) {
    this.target = `${redactUrl(url)} (${ROLE_HEADER[role]})`;
    this.reconnector = new Reconnector(`reverse target ${this.target}`, () => this.dial(), options.reconnect, log);
    if (role !== 'api') this.buffer = new EventBuffer(`reverse target ${this.target}`, options.buffer, log);
  }

  status(): ClientStatus {
    const kept = { buffered: this.buffer?.size ?? 0, dropped: this.buffer?.dropped ?? 0 };
    const lastError = this.reconnector.lastFailure ?? this.lastError;
    if (this.session) return { ...this.session.status(this.target), delivered: this.delivered + this.session.delivered, ...kept };
    return {
      label: this.target,
      role: this.role,
      connected: false,
      queueBytes: 0,
      delivered: this.delivered,
      ...kept,
      failed: 0,
      ...(lastError ? { lastError } : {}),
    };
  }

  /** Dial once the bot's self_id is known: frameworks key bots by X-Self-ID. */
  start(): void {
    this.cancelStart = this.hub.whenIdentified(() => this.dial());
  }

  deliver(event: string): void {
    if (!this.session?.deliver(event)) this.buffer?.push(event);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.cancelStart();
    this.reconnector.stop();
    if (this.buffer?.size) this.log.warn(`reverse target ${this.target} was away: ${this.buffer.size} buffered event(s) not delivered`);
    if (this.session) await this.session.close(1001, 'relay shutting down', true);
    else this.ws?.terminate();
  }

  private dial(): void {
    if (this.stopped || this.ws) return;
    this.lastError = undefined;
    const headers: Record<string, string> = {
      'X-Self-ID': String(this.hub.selfId),
      'X-Client-Role': ROLE_HEADER[this.role],
      'User-Agent': `OneBot/11 onebot-relay/${pkg.version}`,
    };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const ws = dialWebSocket(this.url, headers, this.options, (why) => (this.lastError = explainRefusal(why)));
    this.ws = ws;
    ws.on('open', () => {
      const session = new WsSession(ws, this.role, `reverse target ${this.target}`, this.hub, this.options.session, this.log);
      this.session = session;
      ws.on('message', (data) => session.receive(data.toString()));
      session.start();
      if (this.buffer) session.replay(this.buffer, SETTLE_MS);
      this.settle = setTimeout(() => {
        if (this.stopped) return;
        this.settled = true;
        this.reconnector.up();
        this.log.info(`connected to reverse target ${this.target}`);
      }, SETTLE_MS);
    });
    ws.on('close', (code, reason) => {
      this.ws = undefined;
      clearTimeout(this.settle);
      const session = this.session;
      this.session = undefined;
      session?.closed();
      this.delivered += session?.delivered ?? 0;
      const closed = `code ${code}${reason.length ? ` "${reason}"` : ''}`;
      if (this.settled) {
        this.settled = false;
        this.log.warn(`reverse target ${this.target} closed: ${closed}${this.lastError ? ` (${this.lastError})` : ''}`);
        this.reconnector.lost();
      } else {
        this.reconnector.failed(this.lastError ?? (session ? `closed with ${closed} as soon as it opened` : `closed with ${closed}`));
      }
    });
  }
}

/** NoneBot answers HTTP 403 both to a wrong token and to a second socket for an account it has a bot for. */
function explainRefusal(why: string): string {
  if (!why.endsWith('HTTP 403')) return why;
  return `${why} (a wrong token, or NoneBot's "Duplicate X-Self-ID": it has a bot for this account already, from another socket, an HTTP POST, or the relay's previous socket it has not yet seen close)`;
}
