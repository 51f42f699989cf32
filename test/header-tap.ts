// A TCP pass-through on 127.0.0.1 that records the request head of each connection opened through it (what a real
// framework sends when it connects or calls, exactly), and when each connection opened and closed.
import { createServer, connect as dial, type Server, type Socket } from 'node:net';
import { listenOn } from './helpers.ts';

export interface TappedRequest {
  /** e.g. "GET / HTTP/1.1". */
  line: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
}

/** One connection through the tap: when it opened and, once it has, closed (performance.now()). */
export interface TappedConnection {
  opened: number;
  closed?: number;
}

export class HeaderTap {
  readonly requests: TappedRequest[] = [];
  readonly connections: TappedConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  port = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      const connection: TappedConnection = { opened: performance.now() };
      this.connections.push(connection);
      client.once('close', () => (connection.closed = performance.now()));
      const upstream = dial(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      let head = '';
      const record = (data: Buffer) => {
        head += data.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        client.off('data', record);
        const [line = '', ...fields] = head.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(
          fields.map((f) => [f.slice(0, f.indexOf(':')).trim().toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]),
        );
        this.requests.push({ line, headers });
      };
      client.on('data', record);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** In front of 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<HeaderTap> {
    const tap = new HeaderTap(targetPort);
    tap.port = await listenOn(tap.server);
    return tap;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
