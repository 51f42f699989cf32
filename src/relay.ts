// Builds a running relay from its settings: one hub, its upstream link, its adapters and the admin endpoint.
import { adminListener } from './admin.ts';
import type { Config } from './config.ts';
import type { Adapter } from './downstream/adapter.ts';
import { HttpApiAdapter } from './downstream/http-api.ts';
import { HttpPostAdapter } from './downstream/http-post.ts';
import { ReverseWsAdapter } from './downstream/reverse-ws.ts';
import { WsServerAdapter } from './downstream/ws-server.ts';
import { Hub } from './hub.ts';
import type { HttpListener } from './listen.ts';
import type { Logger } from './log.ts';
import { HttpLink } from './upstream/http-link.ts';
import { ReverseListener } from './upstream/reverse-listener.ts';
import type { Upstream, UpstreamSink } from './upstream/upstream.ts';
import { WsLink } from './upstream/ws-link.ts';

/** Reconnect backoff: first retry within this long, ms. */
const FIRST_RETRY_MS = 1_000;
/** A link up this long starts its next outage from the first retry delay again, ms. */
const STABLE_AFTER_MS = 60_000;

export interface Relay {
  hub: Hub;
  adapters: Adapter[];
  admin: HttpListener;
  stop(): Promise<void>;
}

export async function startRelay(config: Config, log: Logger): Promise<Relay> {
  const ping = { interval: config.ping, timeout: config.pingTimeout };
  const reconnect = { base: FIRST_RETRY_MS, cap: config.reconnectMax, stableAfter: STABLE_AFTER_MS };
  const hub = new Hub((sink) => upstreamFor(config, sink, log.child('upstream')), {
    callTimeout: config.callTimeout,
    hold: config.hold,
    rateLimitInterval: config.rateLimitInterval,
    probeTimeout: config.pingTimeout,
  }, log);
  const session = (heartbeat = config.heartbeat) => ({ heartbeat, ping, queueLimit: config.queueLimit });
  const buffer = { events: config.bufferEvents, bytes: config.bufferBytes, age: config.bufferAge };
  const adapters: Adapter[] = [
    ...config.ws.map(
      (e) =>
        new WsServerAdapter(
          { listen: e.listen, token: e.token ?? config.token, maxPayload: config.maxPayload, session: session(e.heartbeat), buffer },
          hub,
          log.child('ws'),
        ),
    ),
    ...config.http.map((e) => new HttpApiAdapter({ listen: e.listen, token: e.token ?? config.token }, hub)),
    ...config.reverse.map(
      (t) =>
        new ReverseWsAdapter(
          { ...t, token: t.token ?? config.token },
          hub,
          { session: session(t.heartbeat), reconnect, handshakeTimeout: config.handshakeTimeout, maxPayload: config.maxPayload, buffer },
          log.child('reverse'),
        ),
    ),
    ...config.post.map(
      (t) =>
        new HttpPostAdapter(
          { url: t.url, secret: t.secret ?? config.secret, timeout: t.timeout ?? config.postTimeout, heartbeat: t.heartbeat ?? 0 },
          hub,
          { reconnect, buffer },
          log.child('post'),
        ),
    ),
  ];
  const admin = adminListener(config.admin, hub);
  const opened: { close(): Promise<void> }[] = [];
  try {
    for (const endpoint of [...adapters, admin, hub.upstream]) {
      await ('start' in endpoint ? endpoint.start() : endpoint.open());
      opened.push('start' in endpoint ? { close: () => endpoint.stop() } : endpoint);
    }
  } catch (err) {
    await Promise.all(opened.map((e) => e.close()));
    throw err;
  }
  for (const adapter of adapters) hub.add(adapter);
  return { hub, adapters, admin, stop: () => Promise.all([hub.stop(), admin.close()]).then(() => {}) };
}

function upstreamFor(config: Config, sink: UpstreamSink, log: Logger): Upstream {
  const ping = { interval: config.ping, timeout: config.pingTimeout };
  const reconnect = { base: FIRST_RETRY_MS, cap: config.reconnectMax, stableAfter: STABLE_AFTER_MS };
  if (config.upstreamListen) {
    return new ReverseListener({ listen: config.upstreamListen, token: config.upstreamToken, ping, maxPayload: config.maxPayload }, sink, log);
  }
  if (config.upstreamPostListen) {
    return new HttpLink(
      {
        url: config.upstream,
        token: config.upstreamToken,
        postListen: config.upstreamPostListen,
        secret: config.upstreamSecret,
        probeEvery: config.ping,
        probeTimeout: config.pingTimeout,
        callTimeout: config.callTimeout,
        reconnect,
      },
      sink,
      log,
    );
  }
  return new WsLink(
    { url: config.upstream, token: config.upstreamToken, ping, reconnect, maxPayload: config.maxPayload, handshakeTimeout: config.handshakeTimeout },
    sink,
    log,
  );
}
