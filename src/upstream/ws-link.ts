// The dialled upstream: the relay is a WebSocket client of the implementation's forward WS server.
import type { WebSocket } from 'ws';
import { type DialOptions, dialWebSocket } from '../dial.ts';
import { closeSurely, type PingOptions, watchPings } from '../keepalive.ts';
import { type Logger, redactUrl } from '../log.ts';
import { type ReconnectOptions, Reconnector, SETTLE_MS } from '../reconnector.ts';
import { describeClose, type LinkHost, type LinkPort, type Upstream, type UpstreamSink } from './upstream.ts';

export interface WsLinkOptions extends DialOptions {
  url: string;
  token: string;
  ping: PingOptions;
  reconnect: ReconnectOptions;
}

/** NapCat's and LLOneBot's answer to a wrong token, sent before they close: a failed reply with no echo (not a link that came up). */
function tokenRefusal(text: string): number | undefined {
  let frame: { status?: unknown; retcode?: unknown; echo?: unknown } | null;
  try {
    frame = JSON.parse(text);
  } catch {
    return undefined;
  }
  const refused = frame?.status === 'failed' && (frame.retcode === 1401 || frame.retcode === 1403) && frame.echo == null;
  return refused ? (frame!.retcode as number) : undefined;
}

export class WsLink implements Upstream, LinkPort {
  private readonly sink: UpstreamSink;
  readonly target: string;
  private readonly reconnector: Reconnector;
  private ws: WebSocket | undefined;
  private isUp = false;
  private stopped = false;
  private killedFor: string | undefined;
  private lastError: string | undefined;
  /** "connecting" is logged once per outage, not once per retry. */
  private connectingLogged = false;
  private stopPings: (() => void) | undefined;
  private settle: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: WsLinkOptions,
    host: LinkHost,
    private readonly log: Logger,
  ) {
    this.target = redactUrl(options.url);
    this.reconnector = new Reconnector(`upstream ${this.target}`, () => this.dial(), options.reconnect, log);
    this.sink = host.attach(this);
  }

  get problem(): string | undefined {
    return this.reconnector.lastFailure;
  }

  async start(): Promise<void> {
    this.dial();
  }

  send(text: string): boolean {
    // Not on a socket that is closing (killed, its close event still to come): the call waits for the next link.
    const ws = this.ws;
    if (!this.isUp || !ws || ws.readyState !== ws.OPEN) return false;
    ws.send(text);
    return true;
  }

  kill(why: string): void {
    if (!this.ws) return;
    this.killedFor = why;
    this.ws.terminate();
  }

  async stop(why = 'relay shutting down'): Promise<void> {
    this.stopped = true;
    this.reconnector.stop();
    const ws = this.ws;
    if (!ws) return;
    this.killedFor = why;
    await closeSurely(ws, 1001, why, 500);
  }

  private dial(): void {
    this.killedFor = undefined;
    this.lastError = undefined;
    if (this.connectingLogged) this.log.debug(`connecting to ${this.target}`);
    else this.log.info(`connecting to ${this.target}`);
    this.connectingLogged = true;
    const headers: Record<string, string> = {};
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const ws = dialWebSocket(this.options.url, headers, this.options, (why) => {
      this.lastError = /HTTP 40[13]$/.test(why) ? `${why} (check --upstream-token)` : why;
    });
    this.ws = ws;
    ws.on('open', () => {
      this.stopPings = watchPings(ws, this.options.ping, (why) => this.kill(why));
      this.settle = setTimeout(() => this.up(), SETTLE_MS);
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (!this.isUp) {
        const refusal = tokenRefusal(text);
        if (refusal !== undefined) {
          this.lastError = `the implementation refused the token (retcode ${refusal}; check --upstream-token)`;
          ws.terminate();
          return;
        }
        this.up();
      }
      this.sink.frame(text);
    });
    ws.on('close', (code, reason) => this.closed(ws, code, reason.toString()));
  }

  private up(): void {
    clearTimeout(this.settle);
    if (this.stopped || this.isUp || !this.ws || this.ws.readyState !== this.ws.OPEN) return;
    this.isUp = true;
    this.connectingLogged = false;
    this.reconnector.up();
    this.log.info(`upstream up: ${this.target}`);
    this.sink.linkUp();
  }

  private closed(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    clearTimeout(this.settle);
    const opened = this.stopPings !== undefined;
    this.stopPings?.();
    this.stopPings = undefined;
    if (this.isUp) {
      this.isUp = false;
      const down = describeClose(code, reason, this.killedFor, this.lastError);
      this.log.warn(`upstream down: ${down.reason}`);
      this.sink.linkDown(down);
      if (!this.stopped) this.reconnector.lost();
    } else if (!this.stopped) {
      this.reconnector.failed(this.lastError ?? `closed with code ${code}${opened ? ' as soon as it opened' : ''}`);
    }
  }
}
