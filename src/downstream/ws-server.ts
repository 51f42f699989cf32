// Forward WebSocket server for clients: `/` universal, `/api` calls only, `/event` events only.
import { type HttpBindings, upgradeWebSocket } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import type { WSEvents } from 'hono/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { requireToken } from '../auth.ts';
import { type BufferLimits, EventBuffer } from '../event-buffer.ts';
import type { Hub } from '../hub.ts';
import { tuneSocket } from '../keepalive.ts';
import { type Address, HttpListener, messageText } from '../listen.ts';
import type { Logger } from '../log.ts';
import { type Adapter, addTotals, type ClientStatus, type EndpointTotals, type KeptEvents } from './adapter.ts';
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

export class WsServerAdapter implements Adapter {
  readonly listener: HttpListener;
  private readonly sessions = new Set<WsSession>();
  /** Clients that name themselves (?client=NAME or X-Client-Name) get their events kept while away. */
  private readonly named = new Map<string, WsSession>();
  private readonly buffers = new Map<string, EventBuffer>();
  /** Names of clients that are away, longest away first: past MAX_AWAY_NAMES the first is forgotten. */
  private readonly away = new Set<string>();
  /** Handed over to its restarted self: its clients leaving no longer make them away here. */
  private retired = false;
  /** What sessions that ended and buffers that were forgotten had counted. */
  private readonly gone: EndpointTotals = { delivered: 0, dropped: 0, failed: 0 };

  constructor(
    private readonly options: WsServerOptions,
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {
    const app = new Hono<{ Bindings: HttpBindings }>({ strict: false });
    app.use('*', requireToken(options.token));
    for (const [path, role] of ROUTES) {
      app.get(
        path,
        upgradeWebSocket((c) => this.connection(c, path, role, options.session)),
        (c) => c.text('This is a OneBot v11 WebSocket endpoint: connect with a WebSocket client.', 426),
      );
    }
    app.all('*', (c) => c.text('Not found: onebot-relay serves WebSocket clients at /, /api and /event.', 404));
    const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, perMessageDeflate: false });
    this.listener = new HttpListener('WebSocket server', options.listen, app.fetch, {
      browsers: { allowOrigins: options.allowOrigins },
      log,
      wss,
    });
  }

  get name(): string {
    return `ws://${this.listener.url}/ (WebSocket server: /, /api, /event)`;
  }

  clients(): ClientStatus[] {
    const connected = [...this.sessions].map((session) => {
      const buffer = session.name === undefined ? undefined : this.buffers.get(session.name);
      return { ...session.status(), buffered: buffer?.size ?? 0, dropped: buffer?.dropped ?? 0 };
    });
    const away = [...this.away].map((name): ClientStatus => {
      const buffer = this.buffers.get(name)!;
      return {
        label: `client "${name}" (away)`,
        role: 'universal',
        name,
        connected: false,
        queueBytes: 0,
        delivered: 0,
        buffered: buffer.size,
        dropped: buffer.dropped,
        failed: 0,
      };
    });
    return [...connected, ...away];
  }

  /**
   * Every named client with what is kept for it, longest away first and connected ones last: on the
   * restarted server they are all away at first. This server keeps nothing more.
   */
  handOver(): KeptEvents {
    const names = [...this.away, ...this.named.keys()];
    const kept: KeptEvents = new Map(names.map((name) => [name, this.buffers.get(name)!.takeAll()]));
    this.retired = true;
    return kept;
  }

  adopt(kept: KeptEvents): void {
    for (const [name, events] of kept) {
      this.bufferFor(name).adopt(events);
      this.leave(name);
    }
  }

  totals(): EndpointTotals {
    const buffers = [...this.buffers.values()].map((b) => ({ delivered: 0, dropped: b.dropped, failed: 0 }));
    return addTotals([...[...this.sessions].map((s) => s.status()), ...buffers], { ...this.gone });
  }

  open(): Promise<void> {
    return this.listener.open();
  }

  deliver(event: string): void {
    for (const session of this.sessions) {
      if (session.name === undefined) {
        session.deliver(event);
      } else if (this.named.get(session.name) === session && !session.deliver(event)) {
        // Its socket is closing: the event waits for its return. (A replaced socket gets nothing: the newer one does.)
        this.buffers.get(session.name)!.push(event);
      }
    }
    for (const name of this.away) this.buffers.get(name)!.push(event);
  }

  async close(): Promise<void> {
    for (const [name, buffer] of this.buffers) {
      if (buffer.size) this.log.warn(`client "${name}" was away: ${buffer.size} buffered event(s) not delivered`);
    }
    await Promise.all([...this.sessions].map((session) => session.close(1001, 'relay shutting down', true)));
    await this.listener.close();
  }

  private connection(c: Context<{ Bindings: HttpBindings }>, path: string, role: Role, options: SessionOptions): WSEvents {
    const socket = c.env.incoming.socket;
    const name = c.req.query('client') || c.req.header('x-client-name') || undefined;
    const label = `client ${name ? `"${name}" ` : ''}${socket.remoteAddress}:${socket.remotePort} ${path}`;
    let session: WsSession;
    return {
      onOpen: (_event, ws) => {
        tuneSocket(socket);
        session = new WsSession(ws.raw as WebSocket, role, label, this.hub, options, this.log, name);
        this.sessions.add(session);
        this.log.info(`${label} connected (${role})`);
        session.start();
        if (name !== undefined && session.receivesEvents) this.attachNamed(name, session);
      },
      onMessage: (event) => {
        session.receive(messageText(event.data));
      },
      onClose: (event) => {
        this.sessions.delete(session);
        this.gone.delivered += session.delivered;
        if (name !== undefined && this.named.get(name) === session) {
          this.named.delete(name);
          if (!this.retired) this.leave(name);
        }
        session.closed();
        this.log.info(`${label} disconnected: code ${event.code}${event.reason ? ` "${event.reason}"` : ''}`);
      },
    };
  }

  /** One live session per name: a newer one replaces the older, and first gets what was kept for the name. */
  private attachNamed(name: string, session: WsSession): void {
    const older = this.named.get(name);
    if (older) {
      this.log.warn(`client "${name}" connected again; closing its older connection`);
      void older.close(1008, 'replaced by a newer connection with the same client name');
    }
    this.named.set(name, session);
    this.away.delete(name);
    session.replay(this.bufferFor(name));
  }

  private bufferFor(name: string): EventBuffer {
    let buffer = this.buffers.get(name);
    if (!buffer) {
      buffer = new EventBuffer(`client "${name}"`, this.options.buffer, this.log);
      this.buffers.set(name, buffer);
    }
    return buffer;
  }

  private leave(name: string): void {
    this.away.add(name);
    if (this.away.size <= MAX_AWAY_NAMES) return;
    const [oldest] = this.away;
    const buffer = this.buffers.get(oldest!)!;
    this.log.warn(
      `more than ${MAX_AWAY_NAMES} named clients away: forgetting client "${oldest}", the longest away, and its ${buffer.size} kept event(s)`,
    );
    this.away.delete(oldest!);
    this.buffers.delete(oldest!);
    this.gone.dropped += buffer.dropped + buffer.size;
  }
}
