// Writes to one socket while one callback is handled (a socket read and all its frames) leave together. A lone event
// or reply goes out at once; once a second write to the socket comes, or while more frames of the same read wait to be
// handled, the socket is corked until the callback is done. An upstream read carrying a hundred events then costs two
// write system calls per client, not one per event per client, and two calls read together leave in one.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { atCallbackEnd } from './callback-end.ts';

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

/** The WebSocket whose message is being handled (see readingFrom). */
let reading: WebSocket | undefined;

/**
 * Whether bytes of the read being handled wait after the current message: another message, most often. ws keeps them
 * private, as `_receiver._bufferedBytes` in every version since 3.0.
 */
const moreToRead = (): boolean =>
  ((reading as unknown as { _receiver: { _bufferedBytes: number } | null } | undefined)?._receiver?._bufferedBytes ?? 0) > 0;

/** Handle a message read from `ws` with `handle`: its writes are held while more of the same read waits (batchWrites). */
export function readingFrom(ws: WebSocket, handle: () => void): void {
  const outer = reading;
  reading = ws;
  try {
    handle();
  } finally {
    reading = outer;
  }
}

/**
 * Call before each write to `ws`: the first of a callback goes out at once unless more of the read being handled
 * waits; the rest are held until the callback is done (or FLUSH_BYTES wait).
 */
export function batchWrites(ws: WebSocket): void {
  const socket = socketOf(ws);
  if (!socket) return;
  if (written.size === 0) atCallbackEnd('send', release);
  const first = !written.has(socket);
  written.add(socket);
  if (first && !moreToRead()) return;
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
