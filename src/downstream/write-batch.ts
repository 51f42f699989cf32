// Writes to one client while one callback is handled (a socket read and all its frames) leave together, except the
// first: a lone event or reply goes out at once, and once a second write comes the socket is corked until the
// callback is done. An upstream read carrying a hundred events then costs two write system calls per client, not one
// per event per client.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { atCallbackEnd } from '../callback-end.ts';

/** Sockets written to in this callback. */
const written = new Set<Socket>();
const corked = new Set<Socket>();

/** A socket holding this much is written out at once: a batch never makes a client look slower than it is. */
const FLUSH_BYTES = 64 * 1024;

function release(): void {
  written.clear();
  const sockets = [...corked];
  corked.clear();
  for (const socket of sockets) socket.uncork();
}

/** ws keeps its socket private; it has been `_socket` in every version since 1.0. */
const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket | null })._socket;

/** Call before each write to `ws`: from its second write in this callback on, hold them until it is done (or FLUSH_BYTES). */
export function batchWrites(ws: WebSocket): void {
  const socket = socketOf(ws);
  if (!socket) return;
  if (!written.has(socket)) {
    if (written.size === 0) atCallbackEnd('send', release);
    written.add(socket);
    return;
  }
  if (corked.has(socket)) {
    if (socket.writableLength < FLUSH_BYTES) return;
    socket.uncork();
    socket.cork();
    return;
  }
  corked.add(socket);
  socket.cork();
}

/** Nothing written to `ws` while `run` runs leaves before it returns (what it writes after the release, too, stays held). */
export function holdWrites(ws: WebSocket, run: () => void): void {
  const socket = socketOf(ws);
  socket?.cork();
  try {
    run();
  } finally {
    socket?.uncork();
  }
}
