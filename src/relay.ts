// Builds a running relay from its settings: one hub, its upstream link, its adapters and the admin endpoint.
import { adminListener } from './admin.ts';
import type { Config } from './config.ts';
import { WsServerAdapter } from './downstream/ws-server.ts';
import { Hub } from './hub.ts';
import type { HttpListener } from './listen.ts';
import type { Logger } from './log.ts';
import { WsLink } from './upstream/ws-link.ts';

/** Reconnect backoff: first retry within this long, ms. */
const FIRST_RETRY_MS = 1_000;
/** A link up this long starts its next outage from the first retry delay again, ms. */
const STABLE_AFTER_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface Relay {
  hub: Hub;
  servers: WsServerAdapter[];
  admin: HttpListener;
  stop(): Promise<void>;
}

export async function startRelay(config: Config, log: Logger): Promise<Relay> {
  const ping = { interval: config.ping, timeout: config.pingTimeout };
  const hub = new Hub(
    (sink) =>
      new WsLink(
        {
          url: config.upstream,
          token: config.upstreamToken,
          ping,
          reconnect: { base: FIRST_RETRY_MS, cap: config.reconnectMax, stableAfter: STABLE_AFTER_MS },
          maxPayload: config.maxPayload,
          handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        },
        sink,
        log.child('upstream'),
      ),
    { callTimeout: config.callTimeout, hold: config.hold, probeTimeout: config.pingTimeout },
    log,
  );
  const session = { heartbeat: config.heartbeat, ping, queueLimit: config.queueLimit };
  const servers = config.ws.map(
    (listen) => new WsServerAdapter({ listen, token: config.token, maxPayload: config.maxPayload, session }, hub, log.child('ws')),
  );
  const admin = adminListener(config.admin, hub);
  const listeners = [...servers.map((s) => s.listener), admin];
  const opened = await Promise.allSettled(listeners.map((l) => l.open()));
  const failure = opened.find((r) => r.status === 'rejected');
  if (failure) {
    await Promise.all(listeners.map((l) => l.close()));
    throw failure.reason;
  }
  for (const server of servers) hub.add(server);
  hub.upstream.start();
  return { hub, servers, admin, stop: () => Promise.all([hub.stop(), admin.close()]).then(() => {}) };
}
