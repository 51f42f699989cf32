// The bench's OneBot source, in a process of its own (bundled and run with plain node by source-process.ts): a
// forward WebSocket server that greets each client with lifecycle connect and answers its calls, the HTTP API
// (POST /<action>), and an event receiver (POST /post: answered 204 at once, then written to every WebSocket
// client). Each event is serialised once and the same bytes are written to every client: the DIRECT path of the
// proxy suite, and the implementation behind nginx and behind the relay.
//
// Driven over IPC by the bench: { id, cmd, ... } in, { id, ... } out once the command is done.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { FakeReplies } from '../../test/fake-replies.ts';
import { benchEvent, clockMs, pace } from './events.ts';

const SELF_ID = Number(process.env.BENCH_SELF_ID ?? 10001);
const replies = new FakeReplies(SELF_ID);
const sockets = new Set<WebSocket>();

export type SourceCommand =
  /** `count` small events as fast as the source can write them (batches of `batch`, reading in between). */
  | { cmd: 'burst'; marker: string; count: number; batch: number }
  /** `total` small events at `rate` per second, each stamped with the time it is written; `stop` ends it early. */
  | { cmd: 'pace'; marker: string; rate: number; total: number }
  | { cmd: 'stop' }
  /** One event carrying an image of `bytes` bytes (base64), stamped. */
  | { cmd: 'large'; marker: string; bytes: number }
  | { cmd: 'clients' };

/** Write the same bytes, once serialised, to every client (a text frame). */
function broadcast(data: Buffer): void {
  for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(data, { binary: false });
}

function answer(ws: WebSocket, text: string): void {
  const { action, params = {}, echo } = JSON.parse(text) as { action: string; params?: Record<string, unknown>; echo?: unknown };
  for (const frame of replies.to(action, params)) ws.send(JSON.stringify({ ...frame, echo }));
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function http(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const data = await body(req);
  if (req.url === '/post') {
    // A trivial receiver: answer first, then hand the event to the clients.
    res.writeHead(204).end();
    broadcast(data);
    return;
  }
  const action = (req.url ?? '/').slice(1);
  const params = data.length ? (JSON.parse(data.toString()) as Record<string, unknown>) : {};
  const [reply] = replies.to(action, params);
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply));
}

let stopPacing: (() => void) | undefined;

async function run(command: SourceCommand): Promise<Record<string, unknown>> {
  switch (command.cmd) {
    case 'burst': {
      const texts = Array.from({ length: command.count }, (_, i) => Buffer.from(benchEvent(SELF_ID, i + 1, command.marker, 0)));
      for (let i = 0; i < texts.length; i += command.batch) {
        for (const data of texts.slice(i, i + command.batch)) broadcast(data);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return {};
    }
    case 'pace': {
      let stopped = false;
      stopPacing = () => {
        stopped = true;
      };
      let sent = 0;
      await pace(
        command.rate,
        command.total,
        (n) => {
          if (stopped) return;
          broadcast(Buffer.from(benchEvent(SELF_ID, n, command.marker, clockMs())));
          sent = n;
        },
        () => stopped,
      );
      return { sent };
    }
    case 'stop':
      stopPacing?.();
      return {};
    case 'large': {
      const image = 'A'.repeat(command.bytes);
      const message = `[{"type":"image","data":{"file":"base64://${image}"}}]`;
      broadcast(Buffer.from(benchEvent(SELF_ID, 0, command.marker, clockMs(), message)));
      return {};
    }
    case 'clients':
      return { clients: sockets.size };
  }
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
const server = createServer((req, res) => void http(req, res));
server.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => {});
    ws.on('message', (data) => answer(ws, data.toString()));
    ws.send(
      JSON.stringify({
        time: Math.floor(Date.now() / 1000),
        self_id: SELF_ID,
        post_type: 'meta_event',
        meta_event_type: 'lifecycle',
        sub_type: 'connect',
      }),
    );
  }),
);
server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => {
  process.send!({ ready: (server.address() as AddressInfo).port });
});
process.on('message', (message: { id: number } & SourceCommand) => {
  void run(message).then((result) => process.send!({ id: message.id, ...result }));
});
// The bench going away takes the source with it.
process.on('disconnect', () => process.exit(0));
