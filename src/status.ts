// Everything the status page shows, in one snapshot.
import pkg from '../package.json' with { type: 'json' };
import type { Alerter, AlertsStatus } from './alerts/alerter.ts';
import type { Adapter, ClientStatus } from './downstream/adapter.ts';
import type { GroupStatus } from './group-dedupe.ts';
import type { Health, Hub } from './hub.ts';
import type { Spool } from './spool.ts';
import type { ActionStats } from './stats.ts';
import type { RecentWarnings, Warning } from './warnings.ts';

export interface EndpointStatus {
  /** What it is and where, e.g. "ws://127.0.0.1:6710/ (WebSocket server: /, /api, /event)". */
  name: string;
  clients: ClientStatus[];
}

export interface StatusSnapshot {
  version: string;
  /** When this snapshot was taken (ISO time). */
  time: string;
  health: Health;
  rates: { events_per_s: number; calls_per_s: number };
  events_received: number;
  endpoints: EndpointStatus[];
  /** Per action: count, failures, latency p50/p99 in ms; busiest first. */
  calls: ActionStats[];
  /** Newest first. */
  warnings: Warning[];
  alerts: AlertsStatus;
  /** Events dropped as duplicates: repeated by an account (dedupeWindow), or reported by another account too (groupDedupe). */
  duplicates: { repeated: number; other_account: number };
  /** With groupDedupe: each group seen and the account that answers in it. */
  groups: GroupStatus[];
  /** Where kept events are also written; null: memory only. */
  spool: { dir: string; bytes: number; problem: string | null } | null;
}

export function statusOf(hub: Hub, adapters: Adapter[], warnings: RecentWarnings, alerter: Alerter, spool?: Spool): StatusSnapshot {
  const { repeated, otherAccount } = hub.duplicates;
  return {
    version: pkg.version,
    time: new Date().toISOString(),
    health: hub.health(),
    rates: { events_per_s: hub.rates.events.perSecond(), calls_per_s: hub.rates.calls.perSecond() },
    events_received: hub.eventsReceived,
    endpoints: adapters.map((a) => ({ name: a.name, clients: a.clients() })),
    calls: hub.callStats.snapshot().sort((a, b) => b.count - a.count),
    warnings: warnings.list(),
    alerts: alerter.status(),
    duplicates: { repeated, other_account: otherAccount },
    groups: hub.groupPrimaries(),
    spool: spool ? { dir: spool.options.dir, bytes: spool.bytes, problem: spool.problem ?? null } : null,
  };
}
