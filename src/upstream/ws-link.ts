// The dialled upstream: the relay is a WebSocket client of the implementation's forward WS server.
import type { WebSocket } from 'ws';
import { type DialOptions, Redialler, type SocketClosed } from '../dial.ts';
import { closeSurely, type PingOptions, watchPings } from '../keepalive.ts';
import { onMessage } from '../listen.ts';
import { type Logger, redactUrl } from '../log.ts';
import { batchWrites } from '../write-batch.ts';
import { describeClose, type LinkHost, type LinkPort, type Upstream, type UpstreamSink } from './upstream.ts';

export interface WsLinkOptions extends DialOptions {
  url: string;
  token: string;
  ping: PingOptions;
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

/** The implementation's HTTP 401 or 403 to the handshake: the token. */
function explainRefusal(why: string): string {
  return /HTTP 40[13]$/.test(why) ? `${why} (check --upstream-token)` : why;
}

export class WsLink implements Upstream, LinkPort {
  private readonly sink: UpstreamSink;
  readonly target: string;
  private readonly redial: Redialler;
  private killedFor: string | undefined;

  constructor(
    private readonly options: WsLinkOptions,
    host: LinkHost,
    private readonly log: Logger,
  ) {
    this.target = redactUrl(options.url);
    this.redial = new Redialler(
      `upstream ${this.target}`,
      { url: options.url, token: options.token, explain: explainRefusal },
      options,
      { open: (ws) => this.opened(ws), up: () => this.up(), closed: (closed) => this.closed(closed) },
      log,
    );
    this.sink = host.attach(this);
  }

  get problem(): string | undefined {
    return this.redial.problem;
  }

  async start(): Promise<void> {
    this.redial.start();
  }

  send(frame: string | Buffer): boolean {
    // Not on a socket that is closing (killed, its close event still to come): the call waits for the next link.
    const ws = this.redial.socket;
    if (!this.redial.isUp || !ws || ws.readyState !== ws.OPEN) return false;
    batchWrites(ws);
    ws.send(frame, { binary: false });
    return true;
  }

  kill(why: string): void {
    const ws = this.redial.socket;
    if (!ws) return;
    this.killedFor = why;
    ws.terminate();
  }

  async stop(why = 'relay shutting down'): Promise<void> {
    this.redial.stop();
    const ws = this.redial.socket;
    if (!ws) return;
    this.killedFor = why;
    await closeSurely(ws, 1001, why, 500);
  }

  private opened(ws: WebSocket): void {
    watchPings(ws, this.options.ping, (why) => this.kill(why));
    onMessage(
      ws,
      (data) => {
        if (!this.redial.isUp) {
          const refusal = tokenRefusal(data.toString());
          if (refusal !== undefined) {
            this.redial.refuse(`the implementation refused the token (retcode ${refusal}; check --upstream-token)`);
            return;
          }
          this.redial.up();
        }
        this.sink.frame(data);
      },
      this.log,
    );
  }

  private up(): void {
    this.log.info(`upstream up: ${this.target}`);
    this.sink.linkUp();
  }

  private closed({ code, reason, wasUp, lastError }: SocketClosed): void {
    const killedFor = this.killedFor;
    this.killedFor = undefined;
    if (!wasUp) return; // a failed attempt: the Redialler has reported it
    const down = describeClose(code, reason, killedFor, lastError);
    this.log.warn(`upstream down: ${down.reason}`);
    this.sink.linkDown(down);
  }
}
