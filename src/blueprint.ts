// What a configuration builds: each piece with the options it is made from. A piece's key is those
// options, so "what changed" on a reload is derived from what is actually built, never listed by hand.
import { type AdminSources, adminListener } from './admin.ts';
import type { AlerterOptions } from './alerts/alerter.ts';
import type { ChannelSpec } from './alerts/channels.ts';
import type { Config } from './config.ts';
import type { Adapter } from './downstream/adapter.ts';
import { HttpApiAdapter } from './downstream/http-api.ts';
import { HttpPostAdapter } from './downstream/http-post.ts';
import { ReverseWsAdapter } from './downstream/reverse-ws.ts';
import { WsServerAdapter } from './downstream/ws-server.ts';
import type { Hub, HubOptions } from './hub.ts';
import { formatAddress, type HttpListener } from './listen.ts';
import { type Logger, redactUrl } from './log.ts';
import { HttpLink } from './upstream/http-link.ts';
import { ReverseListener } from './upstream/reverse-listener.ts';
import { WsLink } from './upstream/ws-link.ts';
import type { UpstreamPiece } from './upstreams.ts';

/** Reconnect backoff: first retry within this long, ms. */
const FIRST_RETRY_MS = 1_000;
/** A link up this long starts its next outage from the first retry delay again, ms. */
const STABLE_AFTER_MS = 60_000;

/** Something the settings describe: equal keys mean nothing about it changed. */
export interface Piece<T, Args extends unknown[] = []> {
  key: string;
  /** Its address or URL, safe to log. */
  where: string;
  /** What an operator calls it (kind and address), the same across changes of its other settings. */
  label: string;
  make(...args: Args): T;
}

export interface Blueprint {
  upstreams: UpstreamPiece[];
  endpoints: Piece<Adapter, [Hub]>[];
  admin: Piece<HttpListener, [AdminSources]>;
  hub: HubOptions;
  alerts: AlerterOptions;
  logging: Pick<Config, 'logLevel' | 'logFormat'>;
  /** Settings the process reads once, at start. */
  atStart: Pick<Config, 'logFile' | 'logFileSize' | 'keepQuickEdit'>;
}

/** The piece `make` builds from `options`, keyed by them. */
function piece<O, T, Args extends unknown[]>(
  kind: string,
  where: string,
  options: O,
  make: (options: O, ...args: Args) => T,
): Piece<T, Args> {
  return { key: JSON.stringify([kind, options]), where, label: `${kind} ${where}`, make: (...args) => make(options, ...args) };
}

/** The pieces `config` builds. */
export function blueprint(config: Config, log: Logger): Blueprint {
  return {
    upstreams: upstreamPieces(config, log.child('upstream')),
    endpoints: endpointPieces(config, log),
    admin: piece(
      'admin endpoint',
      formatAddress(config.admin),
      { listen: config.admin, token: config.adminToken, allowOrigins: config.allowOrigins, allowHosts: config.allowHosts },
      (o, sources) => adminListener(o, sources, log.child('admin')),
    ),
    hub: {
      callTimeout: config.callTimeout,
      hold: config.hold,
      rateLimitInterval: config.rateLimitInterval,
      sendLimit: config.sendLimit,
      probeTimeout: config.pingTimeout,
      healthProbe: config.healthProbe,
      unhealthyAfter: config.unhealthyAfter,
      healthyWhen: config.healthyWhen,
    },
    alerts: { grace: config.alertGrace, channels: [...config.alerts, ...onUnhealthy(config)] },
    logging: { logLevel: config.logLevel, logFormat: config.logFormat },
    atStart: { logFile: config.logFile, logFileSize: config.logFileSize, keepQuickEdit: config.keepQuickEdit },
  };
}

/**
 * --on-unhealthy: a command channel that hears of the bot down, offline or degraded after --unhealthy-grace, and
 * again every --unhealthy-cooldown while it lasts (a restart that did not help is tried again).
 */
function onUnhealthy(config: Config): ChannelSpec[] {
  if (!config.onUnhealthy) return [];
  return [
    {
      type: 'command',
      name: '--on-unhealthy',
      command: config.onUnhealthy,
      timeout: config.unhealthyTimeout,
      events: ['link_down', 'qq_offline', 'degraded'],
      grace: config.unhealthyGrace,
      repeat: config.unhealthyCooldown,
    },
  ];
}

const pingOf = (config: Config) => ({ interval: config.ping, timeout: config.pingTimeout });
const reconnectOf = (config: Config) => ({ base: FIRST_RETRY_MS, cap: config.reconnectMax, stableAfter: STABLE_AFTER_MS });

function upstreamPieces(config: Config, log: Logger): UpstreamPiece[] {
  const ping = pingOf(config);
  const reconnect = reconnectOf(config);
  const pieces = config.upstreams.map((u): UpstreamPiece => {
    if (u.listen) {
      const options = { listen: u.listen, token: u.token, allowOrigins: config.allowOrigins, ping, maxPayload: config.maxPayload };
      return piece('upstream', `listening on ${formatAddress(u.listen)}`, options, (o, host) => new ReverseListener(o, host, log));
    }
    const url = u.url!;
    if (u.postListen) {
      const options = {
        url,
        token: u.token,
        postListen: u.postListen,
        allowOrigins: config.allowOrigins,
        secret: u.secret,
        probeEvery: config.ping,
        probeTimeout: config.pingTimeout,
        callTimeout: config.callTimeout,
        maxPayload: config.maxPayload,
        reconnect,
      };
      return piece('upstream', redactUrl(url), options, (o, host) => new HttpLink(o, host, log));
    }
    const options = { url, token: u.token, ping, reconnect, maxPayload: config.maxPayload, handshakeTimeout: config.handshakeTimeout };
    return piece('upstream', redactUrl(url), options, (o, host) => new WsLink(o, host, log));
  });
  return distinct(pieces);
}

function endpointPieces(config: Config, log: Logger): Piece<Adapter, [Hub]>[] {
  const ping = pingOf(config);
  const reconnect = reconnectOf(config);
  const session = (heartbeat = config.heartbeat) => ({ heartbeat, ping, queueLimit: config.queueLimit });
  const buffer = { events: config.bufferEvents, bytes: config.bufferBytes, age: config.bufferAge };
  const pieces = [
    ...config.ws.map((e) =>
      piece(
        'WebSocket server',
        formatAddress(e.listen),
        {
          listen: e.listen,
          token: e.token ?? config.token,
          allowOrigins: e.allowOrigins ?? config.allowOrigins,
          maxPayload: config.maxPayload,
          session: session(e.heartbeat),
          buffer,
        },
        (o, hub: Hub) => new WsServerAdapter(o, hub, log.child('ws')),
      ),
    ),
    ...config.http.map((e) =>
      piece(
        'HTTP API server',
        formatAddress(e.listen),
        {
          listen: e.listen,
          token: e.token ?? config.token,
          allowOrigins: e.allowOrigins ?? config.allowOrigins,
          allowHosts: e.allowHosts ?? config.allowHosts,
          maxPayload: config.maxPayload,
        },
        (o, hub: Hub) => new HttpApiAdapter(o, hub, log.child('http')),
      ),
    ),
    ...config.reverse.map((t) =>
      piece(
        'reverse WebSocket target',
        t.url ? redactUrl(t.url) : `${redactUrl(t.apiUrl!)} + ${redactUrl(t.eventUrl!)}`,
        [
          { ...t, token: t.token ?? config.token },
          { session: session(t.heartbeat), reconnect, handshakeTimeout: config.handshakeTimeout, maxPayload: config.maxPayload, buffer },
        ] as const,
        ([target, options], hub: Hub) => new ReverseWsAdapter(target, hub, options, log.child('reverse')),
      ),
    ),
    ...config.post.map((t) =>
      piece(
        'HTTP POST target',
        redactUrl(t.url),
        [
          { url: t.url, secret: t.secret ?? config.secret, timeout: t.timeout ?? config.postTimeout, heartbeat: t.heartbeat ?? 0 },
          { reconnect, buffer },
        ] as const,
        ([target, options], hub: Hub) => new HttpPostAdapter(target, hub, options, log.child('post')),
      ),
    ),
  ];
  return distinct(pieces);
}

/** Two pieces with identical settings (two ports picked by the OS, say) are still two. */
function distinct<P extends Piece<unknown, never[]>>(pieces: P[]): P[] {
  const seen = new Map<string, number>();
  for (const p of pieces) {
    const n = (seen.get(p.key) ?? 0) + 1;
    seen.set(p.key, n);
    if (n > 1) p.key += `#${n}`;
  }
  return pieces;
}
