// Writes to one client within a turn of the event loop leave together: its socket is corked at the first write
// and uncorked once the turn's I/O callbacks are done (setImmediate). An upstream read carrying a hundred events then
// costs one write system call per client, not one per event per client; a lone event waits only for the end of the
// turn it arrived in.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const corked = new Set<Socket>();

/** A socket holding this much is written out at once: a batch never makes a client look slower than it is. */
const FLUSH_BYTES = 64 * 1024;

function uncorkAll(): void {
  const sockets = [...corked];
  corked.clear();
  for (const socket of sockets) socket.uncork();
}

/** Hold what is written to `ws` from now on until the end of this turn (or until it holds FLUSH_BYTES). */
export function batchWrites(ws: WebSocket): void {
  // ws keeps its socket private; it has been `_socket` in every version since 1.0.
  const socket = (ws as unknown as { _socket: Socket | null })._socket;
  if (!socket) return;
  if (corked.has(socket)) {
    if (socket.writableLength < FLUSH_BYTES) return;
    socket.uncork();
    socket.cork();
    return;
  }
  if (corked.size === 0) setImmediate(uncorkAll);
  corked.add(socket);
  socket.cork();
}
