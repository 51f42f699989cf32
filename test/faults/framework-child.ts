// A framework as a process of its own, so that a test can SIGSTOP it or block its event loop, as a stalled
// console or a blocking download does to a real one (MaiBot's adapter). Two ways to meet the relay:
//   framework-child.ts forward URL   dials the relay's WebSocket server, and dials again 200 ms after a close;
//   framework-child.ts reverse       serves a reverse WebSocket on 127.0.0.1 (prints "listening PORT").
// Prints "open", "close CODE", and "event N" for each group message (N: its message_id). Reads lines from stdin:
//   "block MS": busy-waits that long, reading nothing and answering no ping.
import { createInterface } from 'node:readline';
import { WebSocket, WebSocketServer } from 'ws';

const [mode, url] = process.argv.slice(2) as ['forward' | 'reverse', string | undefined];
const say = (line: string) => process.stdout.write(`${line}\n`);

function attach(ws: WebSocket): void {
  say('open');
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { post_type?: string; message_id?: number };
    if (frame.post_type === 'message') say(`event ${frame.message_id}`);
  });
  ws.on('close', (code) => say(`close ${code}`));
  ws.on('error', () => {});
}

if (mode === 'forward') {
  const dial = () => {
    const ws = new WebSocket(url!);
    ws.on('open', () => attach(ws));
    ws.on('close', () => setTimeout(dial, 200));
    ws.on('error', () => {});
  };
  dial();
} else {
  const server: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () =>
    say(`listening ${(server.address() as { port: number }).port}`),
  );
  server.on('connection', attach);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, ms] = line.split(' ');
  if (command !== 'block') return;
  const until = Date.now() + Number(ms);
  while (Date.now() < until) {
    // Blocked: no frame is read, no ping answered.
  }
  say('unblocked');
});
