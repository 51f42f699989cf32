// Builds a running relay from its settings (one hub, its upstream link, its adapters, the admin endpoint)
// and moves it to new settings without a restart: only what changed is closed, opened or restarted.
import { type AdminSources, adminListener } from './admin.ts';
import { type Config, ConfigError, configWarnings } from './config.ts';
import type { Adapter, KeptEvents } from './downstream/adapter.ts';
import { HttpApiAdapter } from './downstream/http-api.ts';
import { HttpPostAdapter } from './downstream/http-post.ts';
import { ReverseWsAdapter } from './downstream/reverse-ws.ts';
import { WsServerAdapter } from './downstream/ws-server.ts';
import { Hub, type HubOptions } from './hub.ts';
import { formatAddress, type HttpListener } from './listen.ts';
import { type Logger, redactUrl } from './log.ts';
import { createMetrics } from './metrics.ts';
import { type StatusSnapshot, statusOf } from './status.ts';
import { UnhealthyHook } from './unhealthy-hook.ts';
import { HttpLink } from './upstream/http-link.ts';
import { ReverseListener } from './upstream/reverse-listener.ts';
import type { Upstream, UpstreamSink } from './upstream/upstream.ts';
import { WsLink } from './upstream/ws-link.ts';
import { RecentWarnings } from './warnings.ts';

/** Reconnect backoff: first retry within this long, ms. */
const FIRST_RETRY_MS = 1_000;
/** A link up this long starts its next outage from the first retry delay again, ms. */
const STABLE_AFTER_MS = 60_000;

export interface Relay {
  hub: Hub;
  readonly adapters: Adapter[];
  readonly admin: HttpListener;
  status(): StatusSnapshot;
  /** Read the settings again (flags and config file) and apply what changed; false when they are invalid. */
  reload(): Promise<boolean>;
  stop(): Promise<void>;
}

/** One endpoint as the settings describe it: equal keys mean nothing about it changed. */
interface EndpointSpec {
  key: string;
  /** What an operator calls it (kind and address), the same across changes of its other settings. */
  label: string;
  make(): Adapter;
}

interface Running {
  spec: EndpointSpec;
  adapter: Adapter;
}

/** `settings` reads the current settings (again on reload); it throws a ConfigError when they are invalid. */
export async function startRelay(settings: () => Config, baseLog: Logger): Promise<Relay> {
  let config = settings();
  /** The settings the process started with (some are read only then). */
  const started = config;
  const warnings = new RecentWarnings();
  const log = warnings.tap(baseLog);
  for (const warning of configWarnings(config)) log.warn(warning);
  const hub = new Hub((sink) => upstreamFor(config, sink, log.child('upstream')), hubOptions(config), log);
  const running = new Map<string, Running>();
  const adapters = () => [...running.values()].map((r) => r.adapter);
  const metrics = createMetrics(hub, adapters);
  hub.callListeners.add((record) => metrics.call(record));
  const sources: AdminSources = {
    health: () => hub.health(),
    status: () => statusOf(hub, adapters(), warnings),
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    reload: () => relay.reload(),
  };
  let admin = adminListener(config.admin, config.adminToken, sources);
  /** The settings the upstream link and the admin endpoint were built from (a failed reload keeps them). */
  let linkConfig = config;
  let adminConfig = config;
  const hook = new UnhealthyHook(hookOptions(config), log.child('health'));

  const endpoints = await openAll(endpointSpecs(config, hub, log));
  if (!Array.isArray(endpoints)) throw endpoints.error;
  try {
    await admin.open();
    await hub.upstream.start();
  } catch (err) {
    await Promise.all([...endpoints.map((e) => e.adapter.close()), admin.close()]);
    throw err;
  }
  for (const { spec, adapter } of endpoints) {
    running.set(spec.key, { spec, adapter });
    hub.add(adapter);
  }
  const healthCheck = setInterval(() => hook.check(hub.health()), 1000);

  let reloading = Promise.resolve(true);
  const relay: Relay = {
    hub,
    get adapters() {
      return adapters();
    },
    get admin() {
      return admin;
    },
    status: sources.status,
    // Reloads run one at a time, in the order asked for.
    reload: () =>
      (reloading = reloading
        .then(() => apply())
        .catch((err: Error) => {
          log.error(`reload failed: ${err.message}`);
          return false;
        })),
    stop: () => {
      clearInterval(healthCheck);
      return Promise.all([hub.stop(), admin.close()]).then(() => {});
    },
  };

  async function apply(): Promise<boolean> {
    let next: Config;
    try {
      next = settings();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error(`reload refused, the running settings stay: ${err.message}`);
      return false;
    }
    const previous = config;
    config = next;
    for (const warning of configWarnings(next)) log.warn(warning);
    const changes: string[] = [];
    if (JSON.stringify(upstreamKey(linkConfig)) !== JSON.stringify(upstreamKey(next))) {
      const where = next.upstreamListen ? `listening on ${formatAddress(next.upstreamListen)}` : redactUrl(next.upstream);
      try {
        await hub.replaceUpstream((sink) => upstreamFor(next, sink, log.child('upstream')));
        linkConfig = next;
        changes.push(`upstream → ${where}`);
      } catch (err) {
        log.error(`reload: the new upstream (${where}) could not start: ${(err as Error).message}; back to the previous one`);
        await hub.replaceUpstream((sink) => upstreamFor(linkConfig, sink, log.child('upstream')));
      }
    }
    hub.configure(hubOptions(next));
    changes.push(...(await applyEndpoints(next)));
    if (formatAddress(adminConfig.admin) !== formatAddress(next.admin) || adminConfig.adminToken !== next.adminToken) {
      await admin.close();
      try {
        admin = adminListener(next.admin, next.adminToken, sources);
        await admin.open();
        adminConfig = next;
        changes.push(`admin endpoint restarted on ${admin.url}`);
      } catch (err) {
        log.error(
          `reload: the admin endpoint could not move to ${formatAddress(next.admin)}: ${(err as Error).message}; it stays on ${formatAddress(adminConfig.admin)}`,
        );
        admin = adminListener(adminConfig.admin, adminConfig.adminToken, sources);
        await admin.open();
      }
    }
    hook.configure(hookOptions(next));
    const relog = previous.logLevel !== next.logLevel || previous.logFormat !== next.logFormat;
    if (relog) changes.push(`logging now at ${next.logLevel} level in ${next.logFormat} format`);
    const atNextStart = RESTART_ONLY.filter((key) => started[key] !== next[key]);
    if (atNextStart.length)
      log.warn(`reload: ${atNextStart.join(', ')} take${atNextStart.length === 1 ? 's' : ''} effect at the next start`);
    log.info(`reloaded: ${changes.length ? changes.join('; ') : 'nothing changed'}`);
    if (relog) log.configure(next.logLevel, next.logFormat); // after the line above, so that it is seen
    return true;
  }

  /**
   * New endpoints open first. When one cannot (a port in use), the removed ones close and it is tried
   * again, for the port may be one of theirs (127.0.0.1:P moving to 0.0.0.0:P); when it still cannot,
   * the removed ones come back as they were and nothing changes, so that an endpoint moved to a busy port
   * keeps running where it was. Then changed ones restart and removed ones close.
   */
  async function applyEndpoints(next: Config): Promise<string[]> {
    const specs = new Map(endpointSpecs(next, hub, log).map((s) => [s.key, s]));
    const gone = [...running.values()].filter((r) => !specs.has(r.spec.key));
    const restarted = new Set<string>();
    const restarts = gone.flatMap((old) => {
      const spec = [...specs.values()].find((s) => s.label === old.spec.label && !running.has(s.key) && !restarted.has(s.key));
      if (!spec) return [];
      restarted.add(spec.key);
      return [{ old, spec }];
    });
    const removed = gone.filter((g) => !restarts.some((r) => r.old === g));
    const fresh = [...specs.values()].filter((s) => !running.has(s.key) && !restarted.has(s.key));
    const changes: string[] = [];
    let added = await openAll(fresh);
    let kept: { old: Running; events: KeptEvents }[] | undefined;
    if (!Array.isArray(added)) {
      kept = removed.map((old) => ({ old, events: retire(old.adapter) }));
      await Promise.all(removed.map((old) => old.adapter.close()));
      added = await openAll(fresh);
      if (!Array.isArray(added)) {
        const why = `${added.spec.label} could not start (${added.error.message})`;
        log.error(`reload: ${why}; no endpoint is added, removed or restarted`);
        for (const { old, events } of kept) await bringBack(old.spec, events);
        return [`endpoints unchanged (${why})`];
      }
    }
    for (const { spec, adapter } of added) {
      running.set(spec.key, { spec, adapter });
      hub.add(adapter);
      changes.push(`added ${spec.label}`);
    }
    for (const old of removed) {
      running.delete(old.spec.key);
      changes.push(`removed ${old.spec.label}`);
    }
    if (kept) {
      // Closed above, their kept events taken out: count them here, as close() does.
      const taken = kept.flatMap(({ events }) => [...events.values()]).reduce((n, events) => n + events.length, 0);
      if (taken) log.warn(`reload: ${taken} buffered event(s) of removed endpoints not delivered`);
    } else {
      for (const old of removed) {
        hub.remove(old.adapter);
        await old.adapter.close(); // it says how many kept events it had
      }
    }
    for (const { old, spec } of restarts) {
      running.delete(old.spec.key);
      changes.push(await restart(old, spec));
    }
    return changes;
  }

  /** Open each (not yet in the hub); when one cannot, close those opened and say which could not and why. */
  async function openAll(specs: EndpointSpec[]): Promise<Running[] | { spec: EndpointSpec; error: Error }> {
    const opened: Running[] = [];
    for (const spec of specs) {
      const adapter = spec.make();
      try {
        await adapter.open();
      } catch (err) {
        await Promise.all(opened.map((o) => o.adapter.close()));
        return { spec, error: err as Error };
      }
      opened.push({ spec, adapter });
    }
    return opened;
  }

  /** Stop giving it events; what it kept for away targets, in case it comes back. */
  function retire(adapter: Adapter): KeptEvents {
    hub.remove(adapter);
    return adapter.handOver();
  }

  /** An endpoint as it was before a reload that could not apply, with what it kept. */
  async function bringBack(spec: EndpointSpec, kept: KeptEvents): Promise<void> {
    const adapter = spec.make();
    adapter.adopt(kept);
    hub.add(adapter);
    running.set(spec.key, { spec, adapter });
    await adapter.open();
  }

  /**
   * An endpoint with new settings takes over what the old one kept, and the events from now on, before the
   * old one says disable and closes: nothing kept is lost. When it cannot open, the old settings come back.
   */
  async function restart(old: Running, spec: EndpointSpec): Promise<string> {
    const adapter = spec.make();
    adapter.adopt(retire(old.adapter));
    hub.add(adapter);
    await old.adapter.close();
    try {
      await adapter.open();
      running.set(spec.key, { spec, adapter });
      return `restarted ${spec.label}`;
    } catch (err) {
      log.error(
        `reload: ${spec.label} could not start with its new settings (${(err as Error).message}); it runs on with the previous ones`,
      );
      await bringBack(old.spec, retire(adapter));
      return `kept ${spec.label} as it was`;
    }
  }

  return relay;
}

/** Settings that the process reads once, at start. */
const RESTART_ONLY = ['logFile', 'logFileSize', 'keepQuickEdit'] as const;

function hookOptions(config: Config) {
  return {
    command: config.onUnhealthy,
    grace: config.unhealthyGrace,
    cooldown: config.unhealthyCooldown,
    timeout: config.unhealthyTimeout,
  };
}

function hubOptions(config: Config): HubOptions {
  return {
    callTimeout: config.callTimeout,
    hold: config.hold,
    rateLimitInterval: config.rateLimitInterval,
    probeTimeout: config.pingTimeout,
    healthProbe: config.healthProbe,
    unhealthyAfter: config.unhealthyAfter,
  };
}

const pingOf = (config: Config) => ({ interval: config.ping, timeout: config.pingTimeout });
const reconnectOf = (config: Config) => ({ base: FIRST_RETRY_MS, cap: config.reconnectMax, stableAfter: STABLE_AFTER_MS });

function endpointSpecs(config: Config, hub: Hub, log: Logger): EndpointSpec[] {
  const ping = pingOf(config);
  const reconnect = reconnectOf(config);
  const session = (heartbeat = config.heartbeat) => ({ heartbeat, ping, queueLimit: config.queueLimit });
  const buffer = { events: config.bufferEvents, bytes: config.bufferBytes, age: config.bufferAge };
  const spec = <T>(kind: string, where: string, options: T, make: (options: T) => Adapter): EndpointSpec => ({
    key: JSON.stringify([kind, options]),
    label: `${kind} ${where}`,
    make: () => make(options),
  });
  const specs = [
    ...config.ws.map((e) =>
      spec(
        'WebSocket server',
        formatAddress(e.listen),
        { listen: e.listen, token: e.token ?? config.token, maxPayload: config.maxPayload, session: session(e.heartbeat), buffer },
        (o) => new WsServerAdapter(o, hub, log.child('ws')),
      ),
    ),
    ...config.http.map((e) =>
      spec(
        'HTTP API server',
        formatAddress(e.listen),
        { listen: e.listen, token: e.token ?? config.token, maxPayload: config.maxPayload },
        (o) => new HttpApiAdapter(o, hub),
      ),
    ),
    ...config.reverse.map((t) =>
      spec(
        'reverse WebSocket target',
        t.url ? redactUrl(t.url) : `${redactUrl(t.apiUrl!)} + ${redactUrl(t.eventUrl!)}`,
        [
          { ...t, token: t.token ?? config.token },
          { session: session(t.heartbeat), reconnect, handshakeTimeout: config.handshakeTimeout, maxPayload: config.maxPayload, buffer },
        ] as const,
        ([target, options]) => new ReverseWsAdapter(target, hub, options, log.child('reverse')),
      ),
    ),
    ...config.post.map((t) =>
      spec(
        'HTTP POST target',
        redactUrl(t.url),
        { url: t.url, secret: t.secret ?? config.secret, timeout: t.timeout ?? config.postTimeout, heartbeat: t.heartbeat ?? 0 },
        (o) => new HttpPostAdapter(o, hub, { reconnect, buffer }, log.child('post')),
      ),
    ),
  ];
  // Two endpoints with identical settings (two ports picked by the OS, say) are still two.
  const seen = new Map<string, number>();
  for (const spec of specs) {
    const n = (seen.get(spec.key) ?? 0) + 1;
    seen.set(spec.key, n);
    if (n > 1) spec.key += `#${n}`;
  }
  return specs;
}

/** Everything the upstream link is built from. */
function upstreamKey(config: Config): unknown[] {
  return [
    config.upstream,
    config.upstreamListen,
    config.upstreamPostListen,
    config.upstreamToken,
    config.upstreamSecret,
    config.ping,
    config.pingTimeout,
    config.reconnectMax,
    config.maxPayload,
    config.handshakeTimeout,
  ];
}

function upstreamFor(config: Config, sink: UpstreamSink, log: Logger): Upstream {
  const ping = pingOf(config);
  const reconnect = reconnectOf(config);
  if (config.upstreamListen) {
    return new ReverseListener(
      { listen: config.upstreamListen, token: config.upstreamToken, ping, maxPayload: config.maxPayload },
      sink,
      log,
    );
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
        maxPayload: config.maxPayload,
        reconnect,
      },
      sink,
      log,
    );
  }
  return new WsLink(
    {
      url: config.upstream,
      token: config.upstreamToken,
      ping,
      reconnect,
      maxPayload: config.maxPayload,
      handshakeTimeout: config.handshakeTimeout,
    },
    sink,
    log,
  );
}
