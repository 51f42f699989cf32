// Everything the status page shows, in one snapshot.
import pkg from '../package.json' with { type: 'json' };
import type { Alerter, AlertsStatus } from './alerts/alerter.ts';
import type { Adapter, ClientStatus } from './downstream/adapter.ts';
import type { Health, Hub } from './hub.ts';
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
}

export function statusOf(hub: Hub, adapters: Adapter[], warnings: RecentWarnings, alerter: Alerter): StatusSnapshot {
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
  };
}
