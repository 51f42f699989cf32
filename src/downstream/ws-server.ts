// Forward WebSocket server for clients: `/` universal, `/api` calls only, `/event` events only.
import { upgradeWebSocket, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { WSEvents } from 'hono/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { requireToken } from '../auth.ts';
import type { Hub } from '../hub.ts';
import { tuneSocket } from '../keepalive.ts';
import { HttpListener, messageText, type Address } from '../listen.ts';
import type { Logger } from '../log.ts';
import type { Adapter } from './adapter.ts';
import { WsSession, type Role, type SessionOptions } from './ws-session.ts';

export interface WsServerOptions {
  listen: Address;
  token: string;
  maxPayload: number;
  session: SessionOptions;
}

const ROUTES: [string, Role][] = [
  ['/', 'universal'],
  ['/api', 'api'],
  ['/event', 'event'],
];

export class WsServerAdapter implements Adapter {
  readonly listener: HttpListener;
  private readonly sessions = new Set<WsSession>();

  constructor(
    options: WsServerOptions,
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
    this.listener = new HttpListener('WebSocket server', options.listen, app.fetch, wss);
  }

  get name(): string {
    return `ws://${this.listener.url}/ (WebSocket server: /, /api, /event)`;
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  open(): Promise<void> {
    return this.listener.open();
  }

  deliver(event: string): void {
    for (const session of this.sessions) session.deliver(event);
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.close(1001, 'relay shutting down');
    await this.listener.close();
  }

  private connection(c: Context<{ Bindings: HttpBindings }>, path: string, role: Role, options: SessionOptions): WSEvents {
    const socket = c.env.incoming.socket;
    const label = `client ${socket.remoteAddress}:${socket.remotePort} ${path}`;
    let session: WsSession;
    return {
      onOpen: (_event, ws) => {
        tuneSocket(socket);
        session = new WsSession(ws.raw as WebSocket, role, label, this.hub, options, this.log);
        this.sessions.add(session);
        session.start();
        this.log.info(`${label} connected (${role})`);
      },
      onMessage: (event) => {
        session.receive(messageText(event.data));
      },
      onClose: (event) => {
        this.sessions.delete(session);
        session.closed();
        this.log.info(`${label} disconnected: code ${event.code}${event.reason ? ` "${event.reason}"` : ''}`);
      },
    };
  }
}
