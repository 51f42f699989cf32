// Prometheus metrics: read from the relay's own counters when scraped (nothing on the hot path), plus the calls
// and their latency, handed over in batches.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AccountHealth } from './account.ts';
import type { CallRecord } from './calls.ts';
import type { Adapter, ClientStatus, EndpointTotals } from './downstream/adapter.ts';
import type { Hub } from './hub.ts';
import type { Spool } from './spool.ts';

export interface Metrics {
  registry: Registry;
  /** Record a finished call. */
  call(record: CallRecord): void;
}

/** Finished calls kept before they are handed to prom-client, at most. */
const BATCH = 256;

export function createMetrics(hub: Hub, adapters: () => Adapter[], spool?: Spool): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'onebot_relay_', eventLoopMonitoringPrecision: 100 });

  /** Per account, by self_id ('' while an account is not identified yet): its own health, not the hub's whole. */
  const perAccount = (pick: (a: AccountHealth) => number) => () =>
    new Map(hub.accounts.map((a) => a.health()).map((a) => [String(a.self_id ?? ''), pick(a)]));
  gaugeOf(
    'onebot_relay_upstream_up',
    '1 while the link to the implementation is up, per account',
    perAccount((a) => (a.link.state === 'up' ? 1 : 0)),
    'self_id',
  );
  new Gauge({
    name: 'onebot_relay_health',
    help: '1 for the current health: up, degraded or down (overall)',
    labelNames: ['status'],
    registers,
    collect() {
      const current = hub.health().status;
      for (const status of ['up', 'degraded', 'down']) this.set({ status }, status === current ? 1 : 0);
    },
  });
  totalOf(
    'onebot_relay_upstream_reconnects_total',
    'times the upstream link came back after a drop, per account',
    perAccount((a) => a.reconnects),
    'self_id',
  );
  totalOf(
    'onebot_relay_sends_delayed_total',
    'send_* calls that waited for their turn under a send limit, per account',
    perAccount((a) => a.sends.delayed),
    'self_id',
  );
  totalOf(
    'onebot_relay_sends_rejected_total',
    'send_* calls not sent over a send limit (rejected, or their time ran out waiting), per account',
    perAccount((a) => a.sends.rejected),
    'self_id',
  );
  gaugeOf(
    'onebot_relay_sends_queued',
    'send_* calls waiting for their turn under the send limits, per account',
    perAccount((a) => a.sends.queued),
    'self_id',
  );
  totalOf(
    'onebot_relay_events_received_total',
    'events received from the implementation, per account',
    perAccount((a) => a.events_received),
    'self_id',
  );

  totalOf(
    'onebot_relay_duplicates_dropped_total',
    'events dropped as duplicates: repeated by one account (dedupeWindow), or reported by another account too (groupDedupe)',
    () => {
      const { repeated, otherAccount } = hub.duplicates;
      return new Map([
        ['repeated', repeated],
        ['other_account', otherAccount],
      ]);
    },
    'reason',
  );
  if (spool) {
    new Gauge({
      name: 'onebot_relay_spool_bytes',
      help: 'bytes of kept events (and their acknowledgements) in the spool folder',
      registers,
      collect() {
        this.set(spool.bytes);
      },
    });
    new Gauge({
      name: 'onebot_relay_spool_writable',
      help: '1 while the spool folder can be written; 0: kept events are in memory only',
      registers,
      collect() {
        this.set(spool.problem === undefined ? 1 : 0);
      },
    });
  }

  // Two endpoints with one name (the same POST target twice) add up.
  const perEndpoint =
    <T>(of: (a: Adapter) => T, pick: (t: T) => number) =>
    () => {
      const values = new Map<string, number>();
      for (const a of adapters()) values.set(a.name, (values.get(a.name) ?? 0) + pick(of(a)));
      return values;
    };
  const total = (pick: (t: EndpointTotals) => number) => perEndpoint((a) => a.totals(), pick);
  const clientSum = (pick: (c: ClientStatus) => number) =>
    perEndpoint(
      (a) => a.clients(),
      (clients) => clients.reduce((sum, c) => sum + pick(c), 0),
    );
  totalOf(
    'onebot_relay_events_delivered_total',
    'events handed to clients, per endpoint',
    total((t) => t.delivered),
    'endpoint',
  );
  totalOf(
    'onebot_relay_events_dropped_total',
    'events dropped from a buffer (full or expired), per endpoint',
    total((t) => t.dropped),
    'endpoint',
  );
  totalOf(
    'onebot_relay_events_failed_total',
    'events a POST target did not take, per endpoint',
    total((t) => t.failed),
    'endpoint',
  );
  gaugeOf(
    'onebot_relay_buffered_events',
    'events kept for targets that are away, per endpoint',
    clientSum((c) => c.buffered),
  );
  gaugeOf(
    'onebot_relay_queued_bytes',
    'bytes waiting to be written to clients, per endpoint',
    clientSum((c) => c.queueBytes),
  );
  gaugeOf(
    'onebot_relay_clients',
    'connected clients, per endpoint',
    clientSum((c) => (c.connected ? 1 : 0)),
  );

  // Finished calls are handed to prom-client in batches, when scraped or every BATCH calls: it hashes the labels on
  // every inc and observe, which cost more than all the rest of a call's bookkeeping. Each pair's children are made
  // once; the hub names at most 200 actions, the rest "other".
  const finished = new Map<string, { counted: Counter.Internal; timed: Histogram.Internal<string>; seconds: number[] }>();
  let unrecorded = 0;
  const record = () => {
    for (const pair of finished.values()) {
      if (!pair.seconds.length) continue;
      pair.counted.inc(pair.seconds.length);
      for (const s of pair.seconds) pair.timed.observe(s);
      pair.seconds.length = 0;
    }
    unrecorded = 0;
  };
  const calls = new Counter({
    name: 'onebot_relay_calls_total',
    help: 'API calls from clients, by action and outcome',
    labelNames: ['action', 'outcome'],
    registers,
    collect: record,
  });
  const seconds = new Histogram({
    name: 'onebot_relay_call_duration_seconds',
    help: 'time from a call arriving to its answer, by action and outcome',
    labelNames: ['action', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
    registers,
    collect: record,
  });
  return {
    registry,
    call({ action, outcome, ms }) {
      const key = `${action} ${outcome}`;
      let pair = finished.get(key);
      if (!pair)
        finished.set(key, (pair = { counted: calls.labels(action, outcome), timed: seconds.labels(action, outcome), seconds: [] }));
      pair.seconds.push(ms / 1000);
      if (++unrecorded >= BATCH) record();
    },
  };

  /** A counter that follows a running total the relay keeps, per value of `label`. */
  function totalOf(name: string, help: string, read: () => Map<string, number>, label: string): void {
    const last = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        for (const [key, value] of read()) {
          const grown = value - (last.get(key) ?? 0);
          last.set(key, value);
          // A total that went down belongs to an endpoint a reload restarted: count from its new start.
          if (grown > 0) this.inc({ [label]: key }, grown);
        }
      },
    });
  }

  function gaugeOf(name: string, help: string, read: () => Map<string, number>, label = 'endpoint'): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [key, value] of read()) this.set({ [label]: key }, value);
      },
    });
  }
}
