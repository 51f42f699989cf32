// Wires a running relay together from its settings (a hub, its upstream link, the endpoints, the admin
// endpoint, the alerts) and reloads it: the new settings' pieces are built, and each piece whose
// key changed is started, swapped in, and the old one cleaned up.
import pkg from '../package.json' with { type: 'json' };
import type { AdminSources } from './admin.ts';
import { Alerter } from './alerts/alerter.ts';
import { type Blueprint, blueprint } from './blueprint.ts';
import { type Config, ConfigError, configWarnings } from './config.ts';
import type { Adapter } from './downstream/adapter.ts';
import { Endpoints } from './endpoints.ts';
import { Hub } from './hub.ts';
import type { HttpListener } from './listen.ts';
import type { Logger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { Spool } from './spool.ts';
import { type StatusSnapshot, statusOf } from './status.ts';
import type { Upstream } from './upstream/upstream.ts';
import { Upstreams } from './upstreams.ts';
import { RecentWarnings } from './warnings.ts';

export interface Relay {
  hub: Hub;
  readonly upstreams: Upstream[];
  readonly adapters: Adapter[];
  readonly admin: HttpListener;
  status(): StatusSnapshot;
  /** Read the settings again (flags and config file) and apply what changed; false when they are invalid. */
  reload(): Promise<boolean>;
  stop(): Promise<void>;
}

/** `settings` reads the current settings (again on reload); it throws a ConfigError when they are invalid. */
export async function startRelay(settings: () => Config, baseLog: Logger): Promise<Relay> {
  const warnings = new RecentWarnings();
  const log = warnings.tap(baseLog);
  const config = settings();
  for (const warning of configWarnings(config)) log.warn(warning);
  const spool = openSpool(config, log);
  const built = blueprint(config, log, spool);
  const hub = new Hub(built.hub, log);
  const upstreams = new Upstreams(hub, log);
  const endpoints = new Endpoints(hub, log);
  const metrics = createMetrics(hub, () => endpoints.adapters, spool);
  hub.callListeners.add((record) => metrics.call(record));
  const alerter = new Alerter(built.alerts, log.child('alerts'));
  hub.watchers.add({ changed: (account) => alerter.observe(account, account.watched()), gone: (account) => alerter.forget(account) });
  const sources: AdminSources = {
    health: () => hub.health(),
    status: () => statusOf(hub, endpoints.adapters, warnings, alerter, spool),
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    reload: () => relay.reload(),
    testAlerts: () => alerter.test(),
  };
  let admin = built.admin.make(sources);

  await endpoints.start(built.endpoints);
  try {
    await admin.open();
    await upstreams.start(built.upstreams);
  } catch (err) {
    alerter.close();
    await Promise.all([...endpoints.adapters.map((a) => a.close()), admin.close()]);
    spool?.close();
    throw err;
  }
  /** What the running pieces were built from: a piece that could not move keeps its previous one. */
  const running = { ...built };
  const atStart = built.atStart;
  // Links and bot_offline notices tell the alerts at once; what changes without a word (a dial that keeps
  // failing, sends that fail, a probe left unanswered) is looked at every second.
  const healthCheck = setInterval(() => {
    for (const account of hub.accounts) alerter.observe(account, account.watched());
  }, 1000);
  alerter.relayStarted(
    `onebot-relay ${pkg.version} started, serving ${upstreams.list.map((u) => u.target).join(', ')} to ${endpoints.adapters.length} endpoint(s).`,
  );

  async function apply(): Promise<boolean> {
    let next: Blueprint;
    try {
      const config = settings();
      for (const warning of configWarnings(config)) log.warn(warning);
      next = blueprint(config, log, spool);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error(`reload refused, the running settings stay: ${err.message}`);
      return false;
    }
    const changes: string[] = [];
    changes.push(...(await upstreams.apply(next.upstreams)));
    hub.configure(next.hub);
    changes.push(...(await endpoints.apply(next.endpoints)));
    if (next.admin.key !== running.admin.key) {
      await admin.close();
      try {
        admin = next.admin.make(sources);
        await admin.open();
        running.admin = next.admin;
        changes.push(`admin endpoint restarted on ${admin.url}`);
      } catch (err) {
        log.error(
          `reload: the admin endpoint could not move to ${next.admin.where}: ${(err as Error).message}; it stays on ${running.admin.where}`,
        );
        admin = running.admin.make(sources);
        await admin.open();
      }
    }
    alerter.configure(next.alerts);
    const relog = changedKeys(running.logging, next.logging).length > 0;
    if (relog) changes.push(`logging now at ${next.logging.logLevel} level in ${next.logging.logFormat} format`);
    running.logging = next.logging;
    const later = changedKeys(atStart, next.atStart);
    if (later.length) log.warn(`reload: ${later.join(', ')} take${later.length === 1 ? 's' : ''} effect at the next start`);
    log.info(`reloaded: ${changes.length ? changes.join('; ') : 'nothing changed'}`);
    if (relog) log.configure(next.logging.logLevel, next.logging.logFormat); // after the line above, so that it is seen
    return true;
  }

  let reloading = Promise.resolve(true);
  const relay: Relay = {
    hub,
    get upstreams() {
      return upstreams.list;
    },
    get adapters() {
      return endpoints.adapters;
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
    stop: async () => {
      clearInterval(healthCheck);
      await Promise.all([alerter.relayStopping('onebot-relay is stopping.'), hub.stop().then(() => upstreams.stop()), admin.close()]);
      await spool?.close();
    },
  };
  return relay;
}

/** The spool, when the settings name a folder: events kept for away targets survive a restart. */
function openSpool(config: Config, log: Logger): Spool | undefined {
  if (!config.spool) return undefined;
  const spool = new Spool({ dir: config.spool, fsync: config.spoolFsync, maxAge: config.bufferAge }, log.child('spool'));
  if (spool.problem === undefined) {
    const sync = config.spoolFsync ? `synced every ${config.spoolFsync} ms` : 'synced after every write';
    log.info(`spool: events kept for away targets are also written to ${config.spool} (${sync})`);
  }
  return spool;
}

/** The keys whose values differ between two settings objects of one shape. */
function changedKeys<T extends object>(a: T, b: T): string[] {
  return (Object.keys(a) as (keyof T & string)[]).filter((k) => a[k] !== b[k]);
}
