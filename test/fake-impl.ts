// A fake OneBot v11 implementation: a forward WS server on 127.0.0.1 that emits numbered events, answers
// actions, and can be killed, restarted on the same port, and frozen (it stops reading, so no pongs).
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { FakeReplies, GROUP, SENDER } from './fake-replies.ts';
import { RestartableServer } from './helpers.ts';

export { FakeReplies, GROUP, SENDER, STORED_CQ, STORED_MESSAGE } from './fake-replies.ts';

export interface FakeOptions {
  port?: number;
  token?: string;
  selfId?: number;
  /** Send the implementation's own heartbeats this often, ms (0: none). */
  heartbeat?: number;
  /** How a wrong token is refused: HTTP 401/403 before the upgrade (go-cqhttp, Lagrange), or as NapCat does. */
  refuseTokenAs?: 'http' | 'napcat';
  /** The message_id its first send answers with (default 1001): two fakes with their own ranges tell their replies apart. */
  firstMessageId?: number;
}

export interface ReceivedCall {
  action: string;
  params: Record<string, unknown>;
  echo: unknown;
  /** When it arrived (Date.now()). */
  at?: number;
  /** What it was answered (the last frame of a stream), without the echo. */
  reply?: Record<string, unknown>;
}

export class FakeImplementation {
  readonly calls: ReceivedCall[] = [];
  readonly sockets = new Set<WebSocket>();
  /** Actions it receives but never answers. */
  readonly unanswered = new Set<string>();
  /** Authorization headers of accepted and refused handshakes. */
  readonly authorizations: (string | undefined)[] = [];
  /** What its heartbeats and get_status say of the QQ account. */
  online = true;
  readonly heartbeat: number;
  private readonly http = new RestartableServer(() => this.newServer());
  private seq = 0;
  private beats: NodeJS.Timeout | undefined;
  private frozen = false;
  private readonly replies: FakeReplies;

  private constructor(private readonly options: FakeOptions) {
    this.heartbeat = options.heartbeat ?? 0;
    this.replies = new FakeReplies(options.selfId ?? 10001, options.firstMessageId, () => this.online);
  }

  static async start(options: FakeOptions = {}): Promise<FakeImplementation> {
    const fake = new FakeImplementation(options);
    await fake.http.start(options.port ?? 0);
    fake.startHeartbeats();
    return fake;
  }

  get port(): number {
    return this.http.port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get selfId(): number {
    return this.options.selfId ?? 10001;
  }

  /** Send `count` numbered group message events to every socket; returns the exact texts sent. */
  emit(count = 1): string[] {
    const sent: string[] = [];
    for (let i = 0; i < count; i++) {
      const text = groupMessage(this.selfId, ++this.seq);
      this.broadcast(text);
      sent.push(text);
    }
    return sent;
  }

  /** Send a group message event with `text` (textMessage) to every socket; returns its message_id. */
  say(text: string): number {
    const messageId = 5000 + ++this.seq;
    this.broadcast(textMessage(this.selfId, messageId, text));
    return messageId;
  }

  broadcast(text: string): void {
    if (this.frozen) return;
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  /** The QQ account kicked off, as NapCat says it: a bot_offline notice (and its heartbeats say online: false). */
  kickedOffline(tag: string, message: string): void {
    this.online = false;
    this.broadcast(
      JSON.stringify({
        time: Math.floor(Date.now() / 1000),
        self_id: this.selfId,
        post_type: 'notice',
        notice_type: 'bot_offline',
        user_id: this.selfId,
        tag,
        message,
      }),
    );
  }

  /** Stop sending heartbeats, but keep answering. */
  stopHeartbeats(): void {
    clearInterval(this.beats);
  }

  /** Stop reading and writing on every socket, as a hung process would. */
  freeze(): void {
    this.frozen = true;
    this.stopHeartbeats();
    for (const ws of this.sockets) socketOf(ws).pause();
  }

  /** Drop every connection without a close frame and stop listening. */
  async kill(): Promise<void> {
    this.stopHeartbeats();
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await this.http.stop();
  }

  /** Listen again on the same port. */
  async restart(): Promise<void> {
    this.frozen = false;
    await this.http.restart();
    this.startHeartbeats();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  private newServer(): Server {
    const wss = new WebSocketServer({ noServer: true });
    const server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, socket, head) => {
      this.authorizations.push(req.headers.authorization);
      const token = this.options.token;
      if (token) {
        const given = req.headers.authorization?.replace(/^(Bearer|Token)\s+/i, '');
        const status = given === undefined ? 401 : given === token ? 0 : 403;
        if (status && this.options.refuseTokenAs === 'napcat') {
          // NapCat upgrades, answers a failed 1403 with no echo, then closes without a code.
          return void wss.handleUpgrade(req, socket, head, (ws) => {
            ws.send(
              JSON.stringify({
                status: 'failed',
                retcode: 1403,
                data: null,
                message: 'token verify failed',
                wording: 'token verify failed',
                echo: null,
              }),
            );
            ws.close();
          });
        }
        if (status) return void socket.end(`HTTP/1.1 ${status} Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    return server;
  }

  private startHeartbeats(): void {
    if (this.heartbeat > 0) {
      this.beats = setInterval(
        () =>
          this.broadcast(
            JSON.stringify({
              time: Math.floor(Date.now() / 1000),
              self_id: this.selfId,
              post_type: 'meta_event',
              meta_event_type: 'heartbeat',
              status: { online: this.online, good: true },
              interval: this.heartbeat,
            }),
          ),
        this.heartbeat,
      );
    }
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => {});
    ws.send(
      JSON.stringify({
        time: Math.floor(Date.now() / 1000),
        self_id: this.selfId,
        post_type: 'meta_event',
        meta_event_type: 'lifecycle',
        sub_type: 'connect',
      }),
    );
    ws.on('message', (data) => this.answer(ws, data.toString()));
  }

  private answer(ws: WebSocket, text: string): void {
    const { action, params = {}, echo } = JSON.parse(text) as ReceivedCall;
    const call: ReceivedCall = { action, params, echo, at: Date.now() };
    this.calls.push(call);
    if (this.unanswered.has(action)) return;
    for (const frame of this.replies.to(action, params)) {
      call.reply = frame;
      ws.send(JSON.stringify({ ...frame, echo }));
    }
  }
}

/** A group message event as implementations send it, numbered. */
export function groupMessage(selfId: number, n: number): string {
  // Odd spacing and escapes on purpose: a relay that re-serialises changes these bytes.
  return `{"time": ${Math.floor(Date.now() / 1000)}, "self_id":${selfId},"post_type":"message","message_type":"group","sub_type":"normal","message_id":${n},"group_id":123456,"user_id":654321,"message":[{"type":"text","data":{"text":"event ${n} \\u4f60\\u597d 你好"}}],"raw_message":"event ${n}","font":0,"seq":${n},"sender":{"user_id":654321,"nickname":"tester"}}`;
}

/** NapCat's input_status notice of a private chat (NapCatQQ#234): without the group_id NoneBot's NotifyEvent requires. */
export function inputStatus(selfId: number): string {
  const notice = { post_type: 'notice', notice_type: 'notify', sub_type: 'input_status', status_text: '对方正在输入...', event_type: 1 };
  return JSON.stringify({ time: Math.floor(Date.now() / 1000), self_id: selfId, ...notice, user_id: SENDER });
}

/**
 * A group message event with `text`, as an implementation would write it. Odd spacing and a \u escape on purpose:
 * Koishi checks the signature over JSON.stringify of what it parsed, so only a relay that posts exactly those bytes
 * gets through.
 */
export function textMessage(selfId: number, messageId: number, text: string): string {
  const escaped = JSON.stringify(text).replaceAll('你', '\\u4f60');
  return `{"time": ${Math.floor(Date.now() / 1000)}, "self_id":${selfId}, "post_type":"message","message_type":"group","sub_type":"normal","message_id":${messageId},"group_id":${GROUP},"user_id":${SENDER},"message":[{"type":"text","data":{"text":${escaped}}}],"raw_message":${escaped},"font":0,"sender":{"user_id":${SENDER},"nickname":"tester","card":"","role":"member"}}`;
}

function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}
