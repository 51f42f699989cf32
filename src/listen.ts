// An HTTP (and WebSocket) listener for a Hono app, with errors an operator can act on. Every endpoint the
// relay serves is one: its browser guard runs here, before any route, upgrade or action.

import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type HttpBindings, type ServerType } from '@hono/node-server';
import type { WebSocket, WebSocketServer } from 'ws';
import { BrowserGuard, type BrowserPolicy } from './browser-guard.ts';
import type { Logger } from './log.ts';

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
  /** For WebSocket upgrades. */
  wss?: WebSocketServer;
}

export class HttpListener {
  private server: Server | undefined;
  private readonly guard: BrowserGuard;
  private readonly wss: WebSocketServer | undefined;

  constructor(
    readonly name: string,
    private readonly address: Address,
    private readonly fetch: (request: Request, env: HttpBindings) => Response | Promise<Response>,
    options: ListenerOptions,
  ) {
    this.guard = new BrowserGuard(options.browsers, options.log, () => `${name} on ${this.url}`);
    this.wss = options.wss;
  }

  /** The bound port (the configured one, or the one the OS picked for port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.address.port;
  }

  get url(): string {
    return formatAddress({ host: this.address.host, port: this.port });
  }

  open(): Promise<void> {
    const fetch = (request: Request, env: HttpBindings) => this.guard.refuse(request, this.address.host) ?? this.fetch(request, env);
    const server = createAdaptorServer({
      fetch: fetch as (request: Request, env: unknown) => Response | Promise<Response>,
      hostname: this.address.host,
      ...(this.wss ? { websocket: { server: this.wss } } : {}),
    }) as ServerType as Server;
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

  private explain(err: NodeJS.ErrnoException): string {
    const where = `${this.name} on ${formatAddress(this.address)}`;
    if (err.code === 'EADDRINUSE') return `${where}: the port is already in use (is another relay, NapCat or a framework listening there?)`;
    if (err.code === 'EACCES') return `${where}: permission denied (ports below 1024 need privileges)`;
    if (err.code === 'EADDRNOTAVAIL') return `${where}: this machine has no such address`;
    return `${where}: ${err.message}`;
  }
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
      receive(data);
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
