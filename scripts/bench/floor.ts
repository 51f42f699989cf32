// The proxy suite's FLOOR path: the least any Node relay does for the same hops, on the same Node and ws as the
// relay's executable. One link to a source; every frame from it written to every client, every client's frame
// written to it; event POSTs answered 204, then written to every client. No parsing, no echo routing, no checks, no
// buffers: what the runtime and ws cost, so that the relay's own cost is the difference.
//
// Run by source-process.ts like the source: BENCH_UPSTREAM is the source, BENCH_PORT where clients connect; over
// IPC it says { ready: port } and answers { id, cmd: "clients" } with the number of clients.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket as Client, WebSocket, WebSocketServer } from 'ws';

const LIFECYCLE = '{"time":0,"self_id":10001,"post_type":"meta_event","meta_event_type":"lifecycle","sub_type":"connect"}';
const clients = new Set<Client>();
const broadcast = (data: Buffer) => {
  for (const ws of clients) ws.send(data, { binary: false });
};

// A zero mask on loopback, as the relay's own links have.
const upstream = new WebSocket(process.env.BENCH_UPSTREAM!, { perMessageDeflate: false, generateMask: (mask) => mask.fill(0) });
upstream.on('message', (data: Buffer) => broadcast(data));
upstream.on('close', () => process.exit(1));

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.writeHead(204).end();
    broadcast(Buffer.concat(chunks));
  });
});
server.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => upstream.send(data, { binary: false }));
    ws.send(LIFECYCLE);
  }),
);
upstream.on('open', () =>
  server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => process.send?.({ ready: (server.address() as AddressInfo).port })),
);
process.on('message', (message: { id: number; cmd: string }) => process.send!({ id: message.id, clients: clients.size }));
