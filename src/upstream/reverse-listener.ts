// The reverse upstream: the implementation dials the relay (Universal, or an API socket plus an Event socket).
import { type Context, Hono } from 'hono';
import type { WebSocket } from 'ws';
import { requireToken } from '../auth.ts';
import { closeSurely, type PingOptions, tuneSocket, unwatchPings, watchPings } from '../keepalive.ts';
import { type Address, HttpListener, type ListenerBindings, type OnWebSocket, onMessage, upgradeTo } from '../listen.ts';
import type { Logger } from '../log.ts';
import type { SelfId } from '../onebot.ts';
import { describeClose, type LinkHost, type LinkPort, parseSelfId, type Upstream, type UpstreamSink } from './upstream.ts';

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
  /** One link per implementation, known by its X-Self-ID ('' for one that sends none). */
  private readonly links = new Map<string, ListenerLink>();

  constructor(
    private readonly options: ReverseListenerOptions,
    private readonly host: LinkHost,
    private readonly log: Logger,
  ) {
    const app = new Hono<{ Bindings: ListenerBindings }>();
    app.use('*', requireToken(options.token));
    app.get(
      '*',
      upgradeTo((c) => this.connection(c)),
      (c) => c.text("onebot-relay: point your OneBot implementation's reverse WebSocket here.", 426),
    );
    this.listener = new HttpListener('upstream reverse WebSocket listener', options.listen, app.fetch, {
      browsers: { allowOrigins: options.allowOrigins },
      log,
      webSockets: { maxPayload: options.maxPayload },
    });
  }

  get target(): string {
    return `reverse WebSocket on ws://${this.listener.url}/`;
  }

  start(): Promise<void> {
    return this.listener.open();
  }

  async stop(why = 'relay shutting down'): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.stop(why)));
    await this.listener.close();
  }

  private linkFor(selfId: SelfId | undefined): ListenerLink {
    const key = selfId === undefined ? '' : String(selfId);
    let link = this.links.get(key);
    if (!link) {
      link = new ListenerLink(selfId === undefined ? this.target : `implementation ${selfId} on ${this.target}`, this.log);
      link.sink = this.host.attach(link, selfId);
      this.links.set(key, link);
    }
    return link;
  }

  private connection(c: Context<{ Bindings: ListenerBindings }>): OnWebSocket {
    const role = roleOf(c.req.header('x-client-role'));
    const selfId = parseSelfId(c.req.header('x-self-id'));
    const socket = c.env.incoming.socket;
    const label = `implementation ${socket.remoteAddress}:${socket.remotePort} (${role ?? c.req.header('x-client-role')})`;
    return (ws) => {
      if (!role) {
        this.log.warn(`${label}: unknown X-Client-Role; expected Universal, API or Event`);
        ws.close(1008, 'unknown X-Client-Role');
        return;
      }
      tuneSocket(socket);
      this.log.info(`${label} connected${selfId !== undefined ? ` as ${selfId}` : ''}`);
      const link = this.linkFor(selfId);
      onMessage(ws, (data) => link.sink.frame(data), this.log);
      ws.on('close', (code: number, reason: Buffer) => link.closed(ws, code, reason.toString()));
      link.opened(ws, role, label, selfId, this.options.ping);
    };
  }
}

/** The sockets of one implementation (one account): a Universal one, or an API one plus an Event one. */
class ListenerLink implements LinkPort {
  sink!: UpstreamSink;
  private readonly sockets = new Map<WebSocket, { role: Role; label: string }>();
  /** The socket calls go out on: the newest Universal or API socket. */
  private callSocket: WebSocket | undefined;
  private killedFor: string | undefined;
  /** It waits to be dialled: nothing to report until a socket has come and gone. */
  readonly problem = undefined;

  constructor(
    readonly target: string,
    private readonly log: Logger,
  ) {}

  send(frame: string | Buffer): boolean {
    // Not on a socket that is closing (killed, its close event still to come): the call waits for the next link.
    const ws = this.callSocket;
    if (!ws || ws.readyState !== ws.OPEN) return false;
    ws.send(frame, { binary: false });
    return true;
  }

  kill(why: string): void {
    this.killedFor = why;
    for (const ws of this.sockets.keys()) ws.terminate();
  }

  async stop(why: string): Promise<void> {
    this.killedFor = why;
    await Promise.all([...this.sockets.keys()].map((ws) => closeSurely(ws, 1001, why, 500)));
  }

  opened(ws: WebSocket, role: Role, label: string, selfId: SelfId | undefined, ping: PingOptions): void {
    watchPings(ws, ping, (why) => {
      this.killedFor = why;
      ws.terminate();
    });
    this.sockets.set(ws, { role, label });
    if (role === 'event') return;
    const previous = this.callSocket;
    this.callSocket = ws;
    this.killedFor = undefined;
    if (previous) {
      // The implementation came back while its old socket still looked open: that one is half-open.
      this.log.warn(`${label} replaces an older socket, which is dropped`);
      unwatchPings(previous);
      this.sockets.delete(previous);
      previous.terminate();
      this.sink.callsLost();
    } else {
      this.sink.linkUp(selfId);
    }
  }

  closed(ws: WebSocket, code: number, reason: string): void {
    const socket = this.sockets.get(ws);
    if (!socket) return;
    this.sockets.delete(ws);
    const down = describeClose(code, reason, this.killedFor);
    this.log.warn(`${socket.label} disconnected: ${down.reason}`);
    if (ws !== this.callSocket) return;
    this.callSocket = undefined;
    this.sink.linkDown(down);
  }
}
