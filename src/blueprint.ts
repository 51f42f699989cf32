// What a configuration builds: each piece with the options it is made from. A piece's key is those
// options, so "what changed" on a reload is derived from what is actually built, never listed by hand.
import { type AdminSources, adminListener } from './admin.ts';
import type { AlerterOptions } from './alerts/alerter.ts';
import type { ChannelSpec } from './alerts/channels.ts';
import type { Config, ListenEndpoint, PostEndpoint, ReverseEndpoint } from './config.ts';
import type { Adapter } from './downstream/adapter.ts';
import { HttpApiAdapter } from './downstream/http-api.ts';
import { HttpPostAdapter } from './downstream/http-post.ts';
import { ReverseWsAdapter } from './downstream/reverse-ws.ts';
import { WsServerAdapter } from './downstream/ws-server.ts';
import type { Hub, HubOptions } from './hub.ts';
import { formatAddress, type HttpListener, isLoopback } from './listen.ts';
import { type Logger, redactUrl } from './log.ts';
import { EndpointProfiles } from './profile/endpoint-profiles.ts';
import type { Spool } from './spool.ts';
import { HttpLink } from './upstream/http-link.ts';
import { ReverseListener } from './upstream/reverse-listener.ts';
import type { LinkHost, Upstream } from './upstream/upstream.ts';
import { WsLink } from './upstream/ws-link.ts';
import type { UpstreamPiece } from './upstreams.ts';

/** Reconnect backoff: first retry within this long, ms. */
const FIRST_RETRY_MS = 1_000;
/** A link up this long starts its next outage from the first retry delay again, ms. */
const STABLE_AFTER_MS = 60_000;
/** Retry a link on this machine every LOOPBACK_RETRY_MS / 2 to LOOPBACK_RETRY_MS: linked again within a second of the peer being back. */
const LOOPBACK_RETRY_MS = 500;

/** Something the settings describe: equal keys mean nothing about it changed. */
export interface Piece<T, Args extends unknown[] = []> {
  key: string;
  /** Its address or URL, safe to log. */
  where: string;
  /** What an operator calls it (kind and address), the same across changes of its other settings. */
  label: string;
  make(...args: Args): T;
}

/** An endpoint: rebuilt when its key changes; its delivery profiles are no part of the key, they change on the running endpoint. */
export interface EndpointPiece extends Piece<Adapter, [Hub]> {
  profiles: EndpointProfiles;
}

export interface Blueprint {
  upstreams: UpstreamPiece[];
  endpoints: EndpointPiece[];
  admin: Piece<HttpListener, [AdminSources]>;
  hub: HubOptions;
  alerts: AlerterOptions;
  logging: Pick<Config, 'logLevel' | 'logFormat'>;
  /** Settings the process reads once, at start. */
  atStart: Pick<Config, 'logFile' | 'logFileSize' | 'keepQuickEdit' | 'spool' | 'spoolFsync'>;
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
export function blueprint(config: Config, log: Logger, spool?: Spool): Blueprint {
  return {
    upstreams: upstreamPieces(config, log.child('upstream')),
    endpoints: endpointPieces(config, log, spool),
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
      dedupeWindow: config.dedupeWindow,
      groupDedupe: config.groupDedupe,
      heartbeat: config.heartbeat,
    },
    alerts: { grace: config.alertGrace, channels: [...config.alerts, ...onUnhealthy(config)] },
    logging: { logLevel: config.logLevel, logFormat: config.logFormat },
    atStart: {
      logFile: config.logFile,
      logFileSize: config.logFileSize,
      keepQuickEdit: config.keepQuickEdit,
      spool: config.spool,
      spoolFsync: config.spoolFsync,
    },
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

/** Implementations are watched strictly (a dead NapCat is found in seconds); clients patiently (see clientPingTimeout). */
const pingOf = (config: Config) => ({ interval: config.ping, timeout: config.pingTimeout });
const clientPingOf = (config: Config) => ({ interval: config.ping, timeout: config.clientPingTimeout });

/**
 * How often to try a link again. On this machine a refused connection costs nothing and the peer (an
 * implementation or a framework restarting) is back within seconds: retry within LOOPBACK_RETRY_MS
 * however long the outage. Elsewhere: exponential backoff with jitter up to reconnectMax.
 */
function reconnectOf(config: Config, url: string) {
  if (isLoopback(new URL(url).hostname)) {
    return { base: LOOPBACK_RETRY_MS, cap: LOOPBACK_RETRY_MS, floor: LOOPBACK_RETRY_MS / 2, stableAfter: STABLE_AFTER_MS };
  }
  return { base: FIRST_RETRY_MS, cap: config.reconnectMax, stableAfter: STABLE_AFTER_MS };
}

function upstreamPieces(config: Config, log: Logger): UpstreamPiece[] {
  const ping = pingOf(config);
  const pieces = config.upstreams.map((u): UpstreamPiece => {
    if (u.listen) {
      const options = { listen: u.listen, token: u.token, allowOrigins: config.allowOrigins, ping, maxPayload: config.maxPayload };
      return upstreamPiece(`listening on ${formatAddress(u.listen)}`, options, (o, host) => new ReverseListener(o, host, log), true);
    }
    const url = u.url!;
    const reconnect = reconnectOf(config, url);
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
      return upstreamPiece(redactUrl(url), options, (o, host) => new HttpLink(o, host, log));
    }
    const options = { url, token: u.token, ping, reconnect, maxPayload: config.maxPayload, handshakeTimeout: config.handshakeTimeout };
    return upstreamPiece(redactUrl(url), options, (o, host) => new WsLink(o, host, log));
  });
  return distinct(pieces);
}

/** An upstream's piece; `listens` for a listener, whose accounts are whatever implementations dial it. */
function upstreamPiece<O>(where: string, options: O, make: (options: O, host: LinkHost) => Upstream, listens = false): UpstreamPiece {
  return { ...piece('upstream', where, options, make), listens };
}

/** The delivery profiles an endpoint's settings describe: its own, and its named clients'. */
function profilesOf(fields: ListenEndpoint | ReverseEndpoint | PostEndpoint): EndpointProfiles {
  return new EndpointProfiles(fields, 'clients' in fields ? fields.clients : undefined);
}

/** `piece` with the endpoint's delivery profiles, which its adapter is made with. */
function endpoint<O>(
  kind: string,
  where: string,
  options: O,
  profiles: EndpointProfiles,
  make: (options: O, hub: Hub, profiles: EndpointProfiles) => Adapter,
): EndpointPiece {
  return { ...piece(kind, where, options, (o, hub: Hub) => make(o, hub, profiles)), profiles };
}

function endpointPieces(config: Config, log: Logger, spool: Spool | undefined): EndpointPiece[] {
  const session = (heartbeat = config.heartbeat) => ({ heartbeat, ping: clientPingOf(config), queueLimit: config.queueLimit });
  const buffer = { events: config.bufferEvents, bytes: config.bufferBytes, age: config.bufferAge, spool };
  const pieces = [
    ...config.ws.map((e) =>
      endpoint(
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
        profilesOf(e),
        (o, hub, profiles) => new WsServerAdapter(o, hub, log.child('ws'), profiles),
      ),
    ),
    ...config.http.map((e) =>
      endpoint(
        'HTTP API server',
        formatAddress(e.listen),
        {
          listen: e.listen,
          token: e.token ?? config.token,
          allowOrigins: e.allowOrigins ?? config.allowOrigins,
          allowHosts: e.allowHosts ?? config.allowHosts,
          maxPayload: config.maxPayload,
        },
        profilesOf(e),
        (o, hub, profiles) => new HttpApiAdapter(o, hub, log.child('http'), profiles),
      ),
    ),
    ...config.reverse.map((t) =>
      endpoint(
        'reverse WebSocket target',
        t.url ? redactUrl(t.url) : `${redactUrl(t.apiUrl!)} + ${redactUrl(t.eventUrl!)}`,
        [
          { url: t.url, apiUrl: t.apiUrl, eventUrl: t.eventUrl, accounts: t.accounts, token: t.token ?? config.token },
          {
            session: session(t.heartbeat),
            reconnect: reconnectOf(config, (t.url ?? t.apiUrl)!),
            handshakeTimeout: config.handshakeTimeout,
            maxPayload: config.maxPayload,
            buffer,
          },
        ] as const,
        profilesOf(t),
        ([target, options], hub, profiles) => new ReverseWsAdapter(target, hub, options, log.child('reverse'), profiles),
      ),
    ),
    ...config.post.map((t) =>
      endpoint(
        'HTTP POST target',
        redactUrl(t.url),
        [
          { url: t.url, secret: t.secret ?? config.secret, timeout: t.timeout ?? config.postTimeout, heartbeat: t.heartbeat ?? 0 },
          { reconnect: reconnectOf(config, t.url), buffer },
        ] as const,
        profilesOf(t),
        ([target, options], hub, profiles) => new HttpPostAdapter(target, hub, options, log.child('post'), profiles),
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
