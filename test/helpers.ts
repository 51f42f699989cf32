// Shared test tools: a relay started in-process on ephemeral ports, a WebSocket client that records frames, and a
// restartable HTTP server for the fakes.
import { type ChildProcess, spawn } from 'node:child_process';
import type { IncomingMessage, Server } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { type Settings, validateConfig } from '../src/config.ts';
import { WsServerAdapter } from '../src/downstream/ws-server.ts';
import { createLogger } from '../src/log.ts';
import { type Relay, startRelay } from '../src/relay.ts';

export interface TestRelay {
  relay: Relay;
  /** The settings a reload reads: change them, then call relay.reload(). */
  settings: Settings;
  /** ws://127.0.0.1:PORT of the first WS server. */
  wsUrl: string;
  adminUrl: string;
  logs: string[];
  stop(): Promise<void>;
}

/** Timings short enough for tests; each test overrides what it exercises. */
export const FAST: Settings = {
  ws: ['127.0.0.1:0'],
  admin: '127.0.0.1:0',
  heartbeat: 200,
  ping: 200,
  pingTimeout: 200,
  clientPingTimeout: 200,
  callTimeout: 2000,
  hold: 1000,
  reconnectMax: 300,
  logLevel: 'debug',
};

/** A relay on ephemeral ports dialling `upstream` (undefined: the settings name another upstream mode). */
export async function startTestRelay(upstream: string | undefined, settings: Settings = {}): Promise<TestRelay> {
  const logs: string[] = [];
  const current = { ...FAST, ...(upstream === undefined ? {} : { upstream }), ...settings };
  const relay = await startRelay(
    () => validateConfig(current),
    createLogger('debug', (line) => logs.push(line)),
  );
  return {
    relay,
    settings: current,
    wsUrl: `ws://${relay.adapters.find((a) => a instanceof WsServerAdapter)!.listener.url}`,
    adminUrl: `http://${relay.admin.url}`,
    logs,
    stop: () => relay.stop(),
  };
}

export async function waitFor(condition: () => boolean, what: string, timeout = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class TestClient {
  readonly frames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Each frame parsed once, on arrival. */
  private readonly objects: Record<string, any>[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.frames.push(text);
      this.objects.push(JSON.parse(text));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Frames parsed, in arrival order. */
  parsed(): Record<string, any>[] {
    return this.objects;
  }

  /** Non-meta events, as received. */
  events(): string[] {
    return this.frames.filter((_, i) => this.objects[i]!.post_type !== undefined && this.objects[i]!.post_type !== 'meta_event');
  }

  meta(type: string): Record<string, any>[] {
    return this.objects.filter((f) => f.post_type === 'meta_event' && f.meta_event_type === type);
  }

  replies(): Record<string, any>[] {
    return this.objects.filter((f) => f.post_type === undefined);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Send a call and wait for the reply whose echo deep-equals the one sent. */
  async call(action: string, params: Record<string, unknown>, echo: unknown, timeout = 5000): Promise<Record<string, any>> {
    const key = JSON.stringify(echo);
    const seen = this.replies().length;
    this.send({ action, params, echo });
    let found: Record<string, any> | undefined;
    await waitFor(
      () =>
        (found = this.replies()
          .slice(seen)
          .find((r) => JSON.stringify(r.echo) === key)) !== undefined,
      `reply to ${action}`,
      timeout,
    );
    return found!;
  }

  async waitForFrames(predicate: (frames: string[]) => boolean, what: string, timeout = 5000): Promise<void> {
    await waitFor(() => predicate(this.frames), what, timeout);
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * An HTTP server on 127.0.0.1 that can stop and listen again on the same port. `create` builds a fresh server, with
 * its handlers, for each start.
 */
export class RestartableServer {
  /** The port it listens (or last listened) on; 0 before the first start. */
  port = 0;
  private server: Server | undefined;

  constructor(private readonly create: () => Server) {}

  /** Listen on `port` (0: any free one). */
  async start(port = 0): Promise<void> {
    const server = this.create();
    this.port = await listenOn(server, port);
    this.server = server;
  }

  /** Close the server and every connection it still has; the port is kept for restart(). */
  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  /** Listen again on the same port. */
  async restart(): Promise<void> {
    await this.start(this.port);
  }
}

/** Listen on 127.0.0.1 (port 0: any free one); resolves with the port. */
export async function listenOn(server: Server | NetServer, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Close a server and every connection it still has. */
async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * A port that was free a moment ago, for what cannot listen on port 0 itself. Another process may take it before it
 * is used, so it is only a starting point.
 */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  const port = await listenOn(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A port something else already listens on ("127.0.0.1:PORT"), for what must find it in use; close `blocker` after. */
export async function busyPort(): Promise<{ busy: string; port: number; blocker: NetServer }> {
  const blocker = createNetServer();
  const port = await listenOn(blocker);
  return { busy: `127.0.0.1:${port}`, port, blocker };
}

/** The relay run from source in a process of its own, its stdout and stderr collected. */
export interface RelayProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `nodeArgs`: before the script (a preload, say). */
export function runRelay(args: string[], nodeArgs: string[] = []): RelayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A raw TCP client that completes a WebSocket handshake at `url` and then never reads again. */
export async function stuckClient(url: string): Promise<Socket> {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise((resolve) => socket.once('data', resolve));
  socket.pause();
  return socket;
}

/** Resolves with the close code once `ws` closes. */
export function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

/** The whole body of a request, as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}
