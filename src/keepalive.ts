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

/** Ping the peer every interval; call onDead once if it goes silent. Returns a function that stops watching. */
export function watchPings(ws: WebSocket, options: PingOptions, onDead: (why: string) => void): () => void {
  let deadline: NodeJS.Timeout | undefined;
  const heard = () => {
    clearTimeout(deadline);
    deadline = undefined;
  };
  const ticker = setInterval(() => {
    if (deadline || ws.readyState !== ws.OPEN) return;
    ws.ping();
    deadline = setTimeout(() => {
      stop();
      onDead(`no pong or frame within ${options.timeout} ms of a ping`);
    }, options.timeout);
  }, options.interval);
  ws.on('pong', heard);
  ws.on('message', heard);
  const stop = () => {
    clearInterval(ticker);
    clearTimeout(deadline);
    ws.off('pong', heard);
    ws.off('message', heard);
  };
  return stop;
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
