// An HTTP (and WebSocket) listener for a Hono app, with errors an operator can act on. Every endpoint the
// relay serves is one: its browser guard runs here, before any route, upgrade or action.

import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createAdaptorServer, type HttpBindings, type ServerType } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { type WebSocket, WebSocketServer } from 'ws';
import { BrowserGuard, type BrowserPolicy } from './browser-guard.ts';
import type { Logger } from './log.ts';
import { readingFrom } from './write-batch.ts';

export interface Address {
  host: string;
  port: number;
}

/** A listener could not start; the message says which one and why. */
export class ListenError extends Error {}

/** This machine only: 127.0.0.0/8, ::1 or localhost (an address, or a URL's hostname with its brackets). */
export function isLoopback(host: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i.test(host);
}

export function formatAddress({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface ListenerOptions {
  /** Which web pages may use it (see browser-guard.ts). */
  browsers: BrowserPolicy;
  log: Logger;
  /** It takes WebSocket upgrades (routed with upgradeTo), whose messages may be this large, bytes. */
  webSockets?: { maxPayload: number };
}

/** What the socket of an upgrade is for, once its handshake is done. */
export type OnWebSocket = (ws: WebSocket) => void;

/** Bindings of a request to a listener: an upgrade carries `upgrade`, where its route says what the socket is for. */
export interface ListenerBindings extends HttpBindings {
  upgrade?: { onSocket?: OnWebSocket };
}

type Fetch = (request: Request, env: ListenerBindings) => Response | Promise<Response>;

/**
 * A route's handler for WebSocket upgrades: `open` tells from the request what its socket is for; a request that is
 * no upgrade goes on to the next handler. The connection keeps only what the function `open` returns closes over:
 * not the request, whose Hono Context with all it holds would cost kilobytes per client for as long as it stays.
 */
export function upgradeTo<B extends ListenerBindings>(
  open: (c: Context<{ Bindings: B }>) => OnWebSocket,
): MiddlewareHandler<{ Bindings: B }> {
  return async (c, next) => {
    const upgrade = c.env.upgrade;
    if (!upgrade || c.req.header('upgrade')?.toLowerCase() !== 'websocket') return next();
    upgrade.onSocket = open(c);
    return c.body(null); // the listener completes the handshake
  };
}

export class HttpListener {
  private server: Server | undefined;
  private readonly guard: BrowserGuard;
  private readonly wss: WebSocketServer | undefined;
  private readonly log: Logger;

  constructor(
    readonly name: string,
    private readonly address: Address,
    private readonly fetch: Fetch,
    options: ListenerOptions,
  ) {
    this.log = options.log;
    this.guard = new BrowserGuard(options.browsers, options.log, () => `${name} on ${this.url}`);
    // No client tracking: the endpoints track their own, and ws's costs a closure per socket.
    if (options.webSockets)
      this.wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: false,
        maxPayload: options.webSockets.maxPayload,
      });
  }

  /** The bound port (the configured one, or the one the OS picked for port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.address.port;
  }

  get url(): string {
    return formatAddress({ host: this.address.host, port: this.port });
  }

  open(): Promise<void> {
    const fetch: Fetch = (request, env) => this.guard.refuse(request, this.address.host) ?? this.fetch(request, env);
    const server = createAdaptorServer({
      fetch: fetch as (request: Request, env: unknown) => Response | Promise<Response>,
      hostname: this.address.host,
    }) as ServerType as Server;
    const wss = this.wss;
    if (wss)
      server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.upgrade(wss, fetch, incoming, socket, head).catch((err: Error) => {
          this.log.error(`${this.name} on ${this.url}: a WebSocket upgrade failed: ${err.stack ?? err}`);
          socket.destroy();
        });
      });
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(this.explain(err))));
      server.listen(this.address.port, this.address.host, () => {
        this.server = server;
        this.guard.warnIfOpen();
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = undefined;
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * An upgrade request goes through the guard and the app like any other (@hono/node-server's own upgrade helper is not
   * used: its closures keep every request for as long as its connection lasts); when its route took it, ws completes
   * the handshake and the socket goes where the route said; otherwise the app's answer is sent and the socket closed.
   */
  private async upgrade(wss: WebSocketServer, fetch: Fetch, incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', ignore); // a peer gone during the handshake is nobody's error
    const upgrade: NonNullable<ListenerBindings['upgrade']> = {};
    const request = upgradeRequest(incoming, this.url);
    const response = request
      ? await fetch(request, { incoming, outgoing: undefined as never, upgrade })
      : new Response('bad request target', { status: 400 });
    const { onSocket } = upgrade;
    if (!onSocket) {
      const body = await response.text();
      const type = response.headers.get('content-type');
      socket.end(
        `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\nConnection: close\r\n${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(incoming, socket, head, (ws) => {
      socket.off('error', ignore);
      // A protocol error (a message too large, a bad frame) is followed by the close, which is what endpoints act on.
      ws.on('error', ignore);
      onSocket(ws);
    });
  }

  private explain(err: NodeJS.ErrnoException): string {
    const where = `${this.name} on ${formatAddress(this.address)}`;
    if (err.code === 'EADDRINUSE') return `${where}: the port is already in use (is another relay, NapCat or a framework listening there?)`;
    if (err.code === 'EACCES') return `${where}: permission denied (ports below 1024 need privileges)`;
    if (err.code === 'EADDRNOTAVAIL') return `${where}: this machine has no such address`;
    return `${where}: ${err.message}`;
  }
}

function ignore(): void {}

/** The web Request an upgrade is routed as (undefined when its target is no URL path), at `host`. */
function upgradeRequest(incoming: IncomingMessage, host: string): Request | undefined {
  // Routed by its path alone: the Host header is the guard's to judge, not part of the URL.
  const base = `http://${host}`;
  if (!URL.canParse(incoming.url ?? '/', base)) return undefined;
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) headers.append(name, String(value));
  return new Request(new URL(incoming.url ?? '/', base), { headers });
}

/** The media type of a Content-Type header, lower case and without parameters ('' when there is none). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Hand `receive` the bytes of every message on `ws` (binary frames are read as UTF-8 text too). Read from ws itself:
 * Hono's onMessage would wrap each frame in a MessageEvent first, a cost on every one.
 */
export function onMessage(ws: WebSocket, receive: (data: Buffer) => void, log: Logger): void {
  ws.on('message', (data: Buffer) => {
    try {
      readingFrom(ws, () => receive(data));
    } catch (err) {
      log.error(`a WebSocket message could not be handled: ${(err as Error).stack ?? err}`);
    }
  });
}

/**
 * A request's body read straight from Node's stream (a web Request and its streams would be made first otherwise, a
 * cost on every POST); undefined when it is over `limit` bytes (the rest is read and dropped).
 */
export function readBody(incoming: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(incoming.headers['content-length']) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const take = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= limit) return;
      incoming.off('data', take);
      incoming.resume(); // the rest is read and dropped
      resolve(undefined);
    };
    incoming.on('data', take);
    incoming.on('end', () => resolve(Buffer.concat(chunks, size)));
    incoming.on('error', reject);
  });
}
