// Liveness of one WebSocket: TCP keepalive and no-delay on the socket, a WS ping watchdog, and an end
// that comes for sure.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Idle time before the OS sends TCP keepalive probes. Windows' own default is 2 hours. */
const TCP_KEEPALIVE_MS = 15_000;

export interface PingOptions {
  /** Send a ping this often, ms. */
  interval: number;
  /** Declare the peer dead when neither a pong nor any frame arrives this long after a ping, ms. */
  timeout: number;
}

export function tuneSocket(socket: Socket): void {
  socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
  socket.setNoDelay(true);
}

/** What the ping watch needs of a socket (a ws WebSocket). */
export type Pingable = Pick<WebSocket, 'readyState' | 'OPEN' | 'ping' | 'on' | 'off'>;

interface Watch {
  rounds: PingRounds;
  onDead: (why: string) => void;
  /** The round whose ping it has not answered yet; 0: none. */
  owes: number;
}

/**
 * Every socket watched with the same options: one timer pings them all each interval (one that still owes an answer
 * is not pinged again), and one timer per round, `timeout` after it, finds those that stayed silent. A timer per
 * socket would cost hundreds of bytes on every idle client.
 */
class PingRounds {
  readonly sockets = new Set<Pingable>();
  private ticker: NodeJS.Timeout | undefined;
  private readonly deadlines = new Set<NodeJS.Timeout>();
  private round = 0;

  constructor(readonly options: PingOptions) {}

  add(ws: Pingable): void {
    this.sockets.add(ws);
    this.ticker ??= setInterval(() => this.ping(), this.options.interval);
  }

  /** Returns whether none is left: then its timers are stopped. */
  delete(ws: Pingable): boolean {
    this.sockets.delete(ws);
    if (this.sockets.size) return false;
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const deadline of this.deadlines) clearTimeout(deadline);
    this.deadlines.clear();
    return true;
  }

  private ping(): void {
    const round = ++this.round;
    let pinged = false;
    for (const ws of this.sockets) {
      const watch = watches.get(ws)!;
      if (watch.owes || ws.readyState !== ws.OPEN) continue;
      ws.ping();
      watch.owes = round;
      pinged = true;
    }
    if (!pinged) return;
    const deadline = setTimeout(() => {
      this.deadlines.delete(deadline);
      this.expire(round);
    }, this.options.timeout);
    this.deadlines.add(deadline);
  }

  private expire(round: number): void {
    for (const ws of this.sockets) {
      const watch = watches.get(ws)!;
      if (watch.owes !== round) continue;
      unwatchPings(ws);
      watch.onDead(`no pong or frame within ${this.options.timeout} ms of a ping`);
    }
  }
}

const watches = new Map<Pingable, Watch>();
/** By their options (keyOf), while they watch a socket. */
const allRounds = new Map<string, PingRounds>();

function keyOf({ interval, timeout }: PingOptions): string {
  return `${interval} ${timeout}`;
}

/** A pong or any frame: the peer is there. One function for every socket (`this` is the socket), not a closure each. */
function heard(this: Pingable): void {
  const watch = watches.get(this);
  if (watch) watch.owes = 0;
}

function closed(this: Pingable): void {
  unwatchPings(this);
}

/** Ping the peer every interval; call onDead once if it goes silent. It is watched until then, or until it closes. */
export function watchPings(ws: Pingable, options: PingOptions, onDead: (why: string) => void): void {
  unwatchPings(ws);
  let rounds = allRounds.get(keyOf(options));
  if (!rounds) {
    rounds = new PingRounds(options);
    allRounds.set(keyOf(options), rounds);
  }
  watches.set(ws, { rounds, onDead, owes: 0 });
  rounds.add(ws);
  ws.on('pong', heard);
  ws.on('message', heard);
  ws.on('close', closed);
}

/** Stop watching `ws` before it closes (nothing when it is not watched). */
export function unwatchPings(ws: Pingable): void {
  const watch = watches.get(ws);
  if (!watch) return;
  watches.delete(ws);
  ws.off('pong', heard);
  ws.off('message', heard);
  ws.off('close', closed);
  if (watch.rounds.delete(ws)) allRounds.delete(keyOf(watch.rounds.options));
}

/** Close politely; a peer that does not answer the close frame within `grace` ms is cut off. */
export function closeSurely(ws: WebSocket, code: number, reason: string, grace = 1000): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.close(code, reason);
  const forced = setTimeout(() => ws.terminate(), grace);
  forced.unref();
  return closed.then(() => clearTimeout(forced));
}
