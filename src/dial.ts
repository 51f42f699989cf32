// How the relay dials any WebSocket (the implementation, or a framework's reverse-WS server).
import { WebSocket } from 'ws';
import { tuneSocket } from './keepalive.ts';

export interface DialOptions {
  handshakeTimeout: number;
  maxPayload: number;
}

/** No compression, a tuned socket, and every failure reported once as a readable line to `failed`. */
export function dialWebSocket(
  url: string,
  headers: Record<string, string>,
  options: DialOptions,
  failed: (why: string) => void,
): WebSocket {
  const ws = new WebSocket(url, {
    headers,
    handshakeTimeout: options.handshakeTimeout,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
  });
  let reported = false;
  const report = (why: string) => {
    if (!reported) failed(why);
    reported = true;
  };
  ws.on('upgrade', (res) => tuneSocket(res.socket));
  ws.on('unexpected-response', (_req, res) => {
    report(`handshake rejected with HTTP ${res.statusCode}`);
    ws.terminate();
  });
  ws.on('error', (err) => report(err.message));
  return ws;
}
