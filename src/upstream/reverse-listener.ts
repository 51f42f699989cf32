// The reverse upstream: the implementation dials the relay (Universal, or an API socket plus an Event socket).
import { type HttpBindings, upgradeWebSocket } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import type { WSEvents } from 'hono/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { requireToken } from '../auth.ts';
import { closeSurely, type PingOptions, tuneSocket, watchPings } from '../keepalive.ts';
import { type Address, HttpListener, messageText } from '../listen.ts';
import type { Logger } from '../log.ts';
import { describeClose, parseSelfId, type Upstream, type UpstreamSink } from './upstream.ts';

export interface ReverseListenerOptions {
  listen: Address;
  token: string;
  /** Web pages that may connect (none, unless allowed: implementations send no Origin). */
  allowOrigins: readonly string[];
  ping: PingOptions;
  maxPayload: number;
}

type Role = 'universal' | 'api' | 'event';

/** X-Client-Role in any case (Lagrange sends "Api"); none means Universal. */
function roleOf(header: string | undefined): Role | undefined {
  const role = (header ?? 'universal').toLowerCase();
  return role === 'universal' || role === 'api' || role === 'event' ? role : undefined;
}

export class ReverseListener implements Upstream {
  readonly listener: HttpListener;
  private readonly sockets = new Map<WebSocket, Role>();
  /** The socket calls go out on: the newest Universal or API socket. */
  private callSocket: WebSocket | undefined;
  private killedFor: string | undefined;

  constructor(
    private readonly options: ReverseListenerOptions,
    private readonly sink: UpstreamSink,
    private readonly log: Logger,
  ) {
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.use('*', requireToken(options.token));
    app.get(
      '*',
      upgradeWebSocket((c) => this.connection(c)),
      (c) => c.text("onebot-relay: point your OneBot implementation's reverse WebSocket here.", 426),
    );
    const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, perMessageDeflate: false });
    this.listener = new HttpListener('upstream reverse WebSocket listener', options.listen, app.fetch, {
      browsers: { allowOrigins: options.allowOrigins },
      log,
      wss,
    });
  }

  get target(): string {
    return `reverse WebSocket on ws://${this.listener.url}/`;
  }

  /** It waits to be dialled: nothing to report until a socket has come and gone. */
  readonly problem = undefined;

  start(): Promise<void> {
    return this.listener.open();
  }

  send(text: string): boolean {
    // Not on a socket that is closing (killed, its close event still to come): the call waits for the next link.
    const ws = this.callSocket;
    if (!ws || ws.readyState !== ws.OPEN) return false;
    ws.send(text);
    return true;
  }

  kill(why: string): void {
    this.killedFor = why;
    for (const ws of this.sockets.keys()) ws.terminate();
  }

  async stop(why = 'relay shutting down'): Promise<void> {
    this.killedFor = why;
    await Promise.all([...this.sockets.keys()].map((ws) => closeSurely(ws, 1001, why, 500)));
    await this.listener.close();
  }

  private connection(c: Context<{ Bindings: HttpBindings }>): WSEvents {
    const role = roleOf(c.req.header('x-client-role'));
    const selfId = parseSelfId(c.req.header('x-self-id'));
    const socket = c.env.incoming.socket;
    const label = `implementation ${socket.remoteAddress}:${socket.remotePort} (${role ?? c.req.header('x-client-role')})`;
    let stopPings = () => {};
    return {
      onOpen: (_event, ctx) => {
        const ws = ctx.raw as WebSocket;
        if (!role) {
          this.log.warn(`${label}: unknown X-Client-Role; expected Universal, API or Event`);
          ws.close(1008, 'unknown X-Client-Role');
          return;
        }
        tuneSocket(socket);
        this.sockets.set(ws, role);
        stopPings = watchPings(ws, this.options.ping, (why) => {
          this.killedFor = why;
          ws.terminate();
        });
        this.log.info(`${label} connected${selfId !== undefined ? ` as ${selfId}` : ''}`);
        if (role === 'event') return;
        const previous = this.callSocket;
        this.callSocket = ws;
        this.killedFor = undefined;
        if (previous) {
          // The implementation came back while its old socket still looked open: that one is half-open.
          this.log.warn(`${label} replaces an older socket, which is dropped`);
          this.sockets.delete(previous);
          previous.terminate();
          this.sink.callsLost();
        } else {
          this.sink.linkUp(selfId);
        }
      },
      onMessage: (event) => this.sink.frame(messageText(event.data)),
      onClose: (event, ctx) => {
        stopPings();
        const ws = ctx.raw as WebSocket;
        if (!this.sockets.delete(ws)) return;
        const down = describeClose(event.code, event.reason, this.killedFor);
        this.log.warn(`${label} disconnected: ${down.reason}`);
        if (ws !== this.callSocket) return;
        this.callSocket = undefined;
        this.sink.linkDown(down);
      },
    };
  }
}
