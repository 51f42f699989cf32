// How the relay dials a WebSocket (the implementation, or a framework's reverse-WS server) and keeps it: dial, count
// it up once it has lasted SETTLE_MS, dial again with backoff when it closes. At most one socket is open or opening:
// a replacement is dialled only once the last one has closed.
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { tuneSocket } from './keepalive.ts';
import { isLoopback } from './listen.ts';
import type { Logger } from './log.ts';
import { type ReconnectOptions, Reconnector } from './reconnector.ts';

/**
 * A socket counts as up once it has lasted this long (or its owner says so sooner: upstream, a frame). One the
 * peer closes sooner (a refused token, a duplicate X-Self-ID) is a failed attempt: summarised, not an up and a down.
 */
export const SETTLE_MS = 500;

export interface DialOptions {
  handshakeTimeout: number;
  maxPayload: number;
  /** When to dial again after a failed attempt or a lost socket: the backoff policy. */
  reconnect: ReconnectOptions;
}

/** Where to dial, and what a refused handshake means there. */
export interface DialTarget {
  url: string;
  /** Sent as `Authorization: Bearer`; none when empty. */
  token: string;
  headers?: Record<string, string>;
  /** The failure as logs and the status page should say it (e.g. which setting to check). */
  explain?: (why: string) => string;
}

/** How a socket ended. */
export interface SocketClosed {
  code: number;
  reason: string;
  /** It had come up: a link lost, not a failed attempt. */
  wasUp: boolean;
  /** The last error the socket met (a refused handshake, a reset), as explained. */
  lastError: string | undefined;
}

/** What the owner of the socket hears. */
export interface RedialEvents {
  /** A socket opened: wire it. It is not up yet. */
  open(ws: WebSocket): void;
  /** The socket is up: it lasted SETTLE_MS, or the owner said so sooner. */
  up(): void;
  /** The socket closed, up or not; the next attempt is scheduled already (unless stopped). */
  closed(closed: SocketClosed): void;
}

export class Redialler {
  private readonly reconnector: Reconnector;
  private ws: WebSocket | undefined;
  /** A bare TCP connect under way (see probeThenDial). */
  private probe: Socket | undefined;
  private readonly onThisMachine: boolean;
  /** Where a bare TCP connect finds whether the peer listens (see probeThenDial). */
  private readonly probeAt: { host: string; port: number };
  private readonly explain: (why: string) => string;
  private settle: NodeJS.Timeout | undefined;
  private stopped = false;
  private error: string | undefined;
  /** "connecting" is logged once per outage, not once per retry. */
  private connectingLogged = false;

  constructor(
    /** What it dials, for logs: "upstream ws://…", "reverse target ws://… (Universal, 10001)". */
    private readonly what: string,
    private readonly target: DialTarget,
    private readonly options: DialOptions,
    private readonly events: RedialEvents,
    private readonly log: Logger,
  ) {
    this.reconnector = new Reconnector(what, () => this.dial(), options.reconnect, log);
    const { hostname, port, protocol } = new URL(target.url);
    this.onThisMachine = isLoopback(hostname);
    this.probeAt = { host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || (protocol === 'wss:' ? 443 : 80) };
    this.explain = target.explain ?? ((why) => why);
  }

  /** The socket open or opening, if any. */
  get socket(): WebSocket | undefined {
    return this.ws;
  }

  get isUp(): boolean {
    return this.reconnector.isUp;
  }

  /** Why the latest attempt failed, while attempts are failing. */
  get problem(): string | undefined {
    return this.reconnector.lastFailure;
  }

  /** The last error the current (or last) socket met. */
  get lastError(): string | undefined {
    return this.error;
  }

  start(): void {
    this.dial();
  }

  /** The socket is up now, before SETTLE_MS (the peer spoke). */
  up(): void {
    clearTimeout(this.settle);
    const ws = this.ws;
    if (this.stopped || this.reconnector.isUp || !ws || ws.readyState !== ws.OPEN) return;
    this.connectingLogged = false;
    this.reconnector.up();
    this.events.up();
  }

  /** The peer refused the socket it accepted (a token refusal in its first frame): drop it, a failed attempt for `why`. */
  refuse(why: string): void {
    this.error = why;
    this.ws?.terminate();
  }

  /** No more attempts. Closing the socket is the owner's: it knows how politely. */
  stop(): void {
    this.stopped = true;
    this.probe?.destroy();
    this.reconnector.stop();
  }

  private dial(): void {
    if (this.stopped || this.ws || this.probe) return;
    this.error = undefined;
    if (this.connectingLogged) this.log.debug(`connecting to ${this.what}`);
    else this.log.info(`connecting to ${this.what}`);
    this.connectingLogged = true;
    if (this.reconnector.failing && this.onThisMachine) this.probeThenDial();
    else this.dialNow();
  }

  /**
   * While a peer on this machine is away it is retried every few hundred ms: a bare TCP connect finds out whether it
   * listens again at a fraction of what a WebSocket attempt costs, and the WebSocket follows at once when it does.
   */
  private probeThenDial(): void {
    const probe = connect(this.probeAt);
    this.probe = probe;
    probe.once('connect', () => {
      probe.destroy();
      this.probe = undefined;
      if (!this.stopped) this.dialNow();
    });
    probe.once('error', (err) => {
      this.probe = undefined;
      if (!this.stopped) this.reconnector.failed(this.explain(err.message));
    });
  }

  private dialNow(): void {
    const { url, token, headers = {} } = this.target;
    const authorization: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const ws = dialWebSocket(
      url,
      { ...headers, ...authorization },
      this.options,
      this.onThisMachine,
      (why) => (this.error = this.explain(why)),
    );
    this.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      this.events.open(ws);
      this.settle = setTimeout(() => this.up(), SETTLE_MS);
    });
    ws.on('close', (code, data) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.settle);
      const reason = data.toString();
      const wasUp = this.reconnector.isUp;
      if (wasUp) this.reconnector.lost();
      else this.reconnector.failed(this.error ?? `closed with ${closeText(code, reason)}${opened ? ' as soon as it opened' : ''}`);
      this.events.closed({ code, reason, wasUp, lastError: this.error });
    });
  }
}

/** A close code and its reason, as logs say them: `code 1008 "Duplicate X-Self-ID"`. */
export function closeText(code: number, reason: string): string {
  return `code ${code}${reason ? ` "${reason}"` : ''}`;
}

/**
 * Masking keeps a page's chosen bytes off the wire where a proxy in between might take them for HTTP (RFC 6455 10.3).
 * On this machine there is none: frames to a loopback peer go with a zero mask, which costs nothing (no copy of each
 * frame to XOR it, and none to undo it at the peer).
 */
const ZERO_MASK = (mask: Buffer) => mask.fill(0);

/** No compression, a tuned socket, and every failure reported once as a readable line to `failed`. */
function dialWebSocket(
  url: string,
  headers: Record<string, string>,
  options: DialOptions,
  onThisMachine: boolean,
  failed: (why: string) => void,
): WebSocket {
  const ws = new WebSocket(url, {
    headers,
    handshakeTimeout: options.handshakeTimeout,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
    ...(onThisMachine ? { generateMask: ZERO_MASK } : {}),
  });
  let reported = false;
  const report = (why: string) => {
    if (!reported) failed(why);
    reported = true;
  };
  ws.on('upgrade', (res) => tuneSocket(res.socket));
  ws.on('unexpected-response', (_req, res) => {
    report(`handshake rejected with HTTP ${res.statusCode}`);
    ws.terminate();
  });
  ws.on('error', (err) => report(err.message));
  return ws;
}
