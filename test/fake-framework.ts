// A fake bot framework: a reverse-WebSocket server (as NoneBot, Koishi and aiocqhttp run) and a webhook
// that receives HTTP POST events; both record exactly what arrived.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { RestartableServer, readBody, waitFor } from './helpers.ts';

export interface FrameworkSocket {
  ws: WebSocket;
  headers: IncomingHttpHeaders;
  path: string;
  frames: string[];
}

/** Rejects a second socket with the same X-Self-ID and role, as NoneBot does ("Duplicate X-Self-ID"). */
export class FakeFramework {
  readonly sockets: FrameworkSocket[] = [];
  /** Most sockets open at once, per role. */
  readonly peak = new Map<string, number>();
  duplicates = 0;
  private readonly http = new RestartableServer(() => this.newServer());

  static async start(): Promise<FakeFramework> {
    const fake = new FakeFramework();
    await fake.http.start();
    return fake;
  }

  get port(): number {
    return this.http.port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  open(role?: string): FrameworkSocket[] {
    return this.sockets.filter((s) => s.ws.readyState === s.ws.OPEN && (role === undefined || s.headers['x-client-role'] === role));
  }

  /** Everything each socket received, parsed. */
  parsed(socket: FrameworkSocket): Record<string, any>[] {
    return socket.frames.map((f) => JSON.parse(f));
  }

  /** The events a socket received, exactly as they came (no heartbeats or lifecycle). */
  events(socket: FrameworkSocket): string[] {
    return socket.frames.filter((f) => !f.includes('"meta_event"'));
  }

  /** Resolves once a socket (of `role`) has had its lifecycle connect: the relay's side of it is live. */
  live(role?: string): Promise<void> {
    return waitFor(() => this.open(role).some((s) => s.frames.some((f) => f.includes('"lifecycle"'))), `a live ${role ?? ''} socket`);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.ws.terminate();
    await this.http.stop();
  }

  async restart(): Promise<void> {
    await this.http.restart();
  }

  private newServer(): Server {
    const wss = new WebSocketServer({ noServer: true });
    const server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const role = String(req.headers['x-client-role']);
        if (this.open(role).some((s) => s.headers['x-self-id'] === req.headers['x-self-id'])) {
          this.duplicates++;
          return ws.close(1008, 'Duplicate X-Self-ID');
        }
        const entry: FrameworkSocket = { ws, headers: req.headers, path: req.url ?? '/', frames: [] };
        this.sockets.push(entry);
        this.peak.set(role, Math.max(this.peak.get(role) ?? 0, this.open(role).length));
        ws.on('message', (data) => entry.frames.push(data.toString()));
        ws.on('error', () => {});
      });
    });
    return server;
  }
}

export interface ReceivedPost {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiving event POSTs; answers each with what `answer` returns (default 204). */
export class FakeWebhook {
  readonly posts: ReceivedPost[] = [];
  answer: (post: ReceivedPost) => { status: number; body?: string; delay?: number } = () => ({ status: 204 });
  private readonly http = new RestartableServer(() =>
    createServer(async (req, res) => {
      const body = await readBody(req);
      const post = { headers: req.headers, body };
      this.posts.push(post);
      const { status, body: reply, delay } = this.answer(post);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (!res.destroyed) res.writeHead(status, reply ? { 'Content-Type': 'application/json' } : {}).end(reply);
    }),
  );

  static async start(): Promise<FakeWebhook> {
    const hook = new FakeWebhook();
    await hook.http.start();
    return hook;
  }

  get port(): number {
    return this.http.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/onebot/v11/http`;
  }

  events(): Record<string, any>[] {
    return this.eventPosts().map((p) => JSON.parse(p.body));
  }

  /** The posts of events, without heartbeats and lifecycle. */
  eventPosts(): ReceivedPost[] {
    return this.posts.filter((p) => JSON.parse(p.body).post_type !== 'meta_event');
  }

  async stop(): Promise<void> {
    await this.http.stop();
  }

  async restart(): Promise<void> {
    await this.http.restart();
  }
}
