// Fake implementations for the other upstream transports: one that dials the relay by reverse WebSocket,
// and one that serves the HTTP API and POSTs its events.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { WebSocket } from 'ws';
import { FakeReplies, groupMessage, type ReceivedCall } from './fake-impl.ts';
import { RestartableServer, readBody } from './helpers.ts';

/** The implementation as a reverse-WS client of the relay (NapCat's websocketClients, go-cqhttp's ws-reverse). */
export class FakeReverseImplementation {
  readonly calls: ReceivedCall[] = [];
  /** Actions it receives but never answers. */
  readonly unanswered = new Set<string>();
  private readonly replies: FakeReplies;
  private seq = 0;

  constructor(readonly selfId = 10001) {
    this.replies = new FakeReplies(selfId);
  }

  /** Dial with the headers implementations send (and `extra`); resolves with the open socket, or rejects with the HTTP status. */
  connect(url: string, role: string, token?: string, extra: Record<string, string> = {}): Promise<WebSocket> {
    const headers: Record<string, string> = {
      'X-Self-ID': String(this.selfId),
      'X-Client-Role': role,
      'User-Agent': 'OneBot/11',
      ...extra,
    };
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    const ws = new WebSocket(url, { headers });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ReceivedCall;
      this.calls.push(frame);
      if (this.unanswered.has(frame.action)) return;
      for (const reply of this.replies.to(frame.action, frame.params ?? {})) ws.send(JSON.stringify({ ...reply, echo: frame.echo }));
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  emit(ws: WebSocket, count = 1): string[] {
    const sent = Array.from({ length: count }, () => groupMessage(this.selfId, ++this.seq));
    for (const text of sent) ws.send(text);
    return sent;
  }
}

/** The implementation's HTTP API, plus its HTTP POST of events to the relay. */
export class FakeHttpImplementation {
  readonly calls: ReceivedCall[] = [];
  /** Each call's body as it came. */
  readonly bodies: string[] = [];
  readonly authorizations: (string | undefined)[] = [];
  /** Actions it answers only after this many ms. */
  readonly delays = new Map<string, number>();
  private readonly http = new RestartableServer(() => this.newServer());
  private readonly replies: FakeReplies;
  private seq = 0;

  private constructor(
    private readonly token: string,
    readonly selfId: number,
  ) {
    this.replies = new FakeReplies(selfId);
  }

  static async start(token = '', selfId = 10001): Promise<FakeHttpImplementation> {
    const fake = new FakeHttpImplementation(token, selfId);
    await fake.http.start();
    return fake;
  }

  get port(): number {
    return this.http.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** POST events to the relay as the implementation does (with `extra` headers); returns the HTTP statuses. */
  async post(
    url: string,
    count: number,
    secret?: string,
    extra: Record<string, string> = {},
  ): Promise<{ sent: string[]; statuses: number[] }> {
    const sent: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const body = groupMessage(this.selfId, ++this.seq);
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Self-ID': String(this.selfId), ...extra };
      if (secret !== undefined) headers['X-Signature'] = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
      const res = await fetch(url, { method: 'POST', headers, body });
      await res.arrayBuffer();
      sent.push(body);
      statuses.push(res.status);
    }
    return { sent, statuses };
  }

  async kill(): Promise<void> {
    await this.http.stop();
  }

  async restart(): Promise<void> {
    await this.http.restart();
  }

  private newServer(): Server {
    return createServer(async (req, res) => {
      const body = await readBody(req);
      this.authorizations.push(req.headers.authorization);
      const given = req.headers.authorization?.replace(/^(Bearer|Token)\s+/i, '');
      if (this.token && given !== this.token) return void res.writeHead(given === undefined ? 401 : 403).end();
      const action = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
      const params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      this.calls.push({ action, params, echo: undefined });
      this.bodies.push(body);
      await new Promise((resolve) => setTimeout(resolve, this.delays.get(action) ?? 0));
      const [reply] = this.replies.to(action, params);
      res.writeHead(reply!.retcode === 1404 ? 404 : 200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply));
    });
  }
}
