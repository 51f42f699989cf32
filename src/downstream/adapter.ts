// One downstream transport (a WS server, a reverse WS target, ...) behind one interface.
import type { KeptEvent } from '../event-buffer.ts';
import type { Accounts } from '../hub.ts';
import type { SelfId } from '../onebot.ts';
import type { EndpointProfiles } from '../profile/endpoint-profiles.ts';
import type { OutgoingEvent } from '../profile/profile.ts';

/** Events kept for each of an endpoint's targets (by client name or role), handed from an endpoint to its restarted self. */
export type KeptEvents = Map<string, KeptEvent[]>;

/** One client as the status page and /metrics show it: a socket, a named client away, a POST target. */
export interface ClientStatus {
  /** Its address and path, or the URL the relay dials. */
  label: string;
  role: 'universal' | 'api' | 'event' | 'post';
  /** The name a forward-WS client gave itself. */
  name?: string;
  /** The account it is served, once known. */
  self_id?: SelfId;
  connected: boolean;
  /** Since when it is connected (ISO time). */
  since?: string;
  /** Bytes waiting to be written to it. */
  queueBytes: number;
  /** Events handed to it. */
  delivered: number;
  /** Events kept for it while it is away. */
  buffered: number;
  /** Events dropped for it: its buffer overflowed or expired. */
  dropped: number;
  /** Events it was sent but did not take (HTTP POST errors and timeouts). */
  failed: number;
  lastError?: string;
}

/** A client's status: what `fields` says, and otherwise not connected, nothing waiting, delivered, kept or failed. */
export function clientStatus(fields: Pick<ClientStatus, 'label' | 'role'> & Partial<ClientStatus>): ClientStatus {
  const { label, role, name, self_id, since, lastError } = fields;
  return {
    label,
    role,
    ...(name === undefined ? {} : { name }),
    ...(self_id === undefined ? {} : { self_id }),
    connected: fields.connected ?? false,
    ...(since === undefined ? {} : { since }),
    queueBytes: fields.queueBytes ?? 0,
    delivered: fields.delivered ?? 0,
    buffered: fields.buffered ?? 0,
    dropped: fields.dropped ?? 0,
    failed: fields.failed ?? 0,
    ...(lastError === undefined ? {} : { lastError }),
  };
}

/** Running totals of an endpoint since it opened: they never go down, whoever comes and goes. */
export type EndpointTotals = Pick<ClientStatus, 'delivered' | 'dropped' | 'failed'>;

/** The totals of `clients`, added to `base`. */
export function addTotals(clients: EndpointTotals[], base: EndpointTotals = { delivered: 0, dropped: 0, failed: 0 }): EndpointTotals {
  return clients.reduce(
    (sum, c) => ({ delivered: sum.delivered + c.delivered, dropped: sum.dropped + c.dropped, failed: sum.failed + c.failed }),
    base,
  );
}

/** One downstream endpoint: what the relay opens, closes and shows. */
export interface Adapter {
  /** What it is and where, for logs and the status page, e.g. "HTTP POST to http://127.0.0.1:8080/". */
  readonly name: string;
  open(): Promise<void>;
  /** Close every connection (clients get lifecycle disable, then 1001) and stop listening or dialling. */
  close(): Promise<void>;
  /** Its clients, connected or kept for. */
  clients(): ClientStatus[];
  totals(): EndpointTotals;
  /** Serve its clients with new delivery profiles from now on; connected ones stay connected. */
  useProfiles(profiles: EndpointProfiles): void;
}

/** An endpoint that carries events (all but the HTTP API): it gets each one, and keeps some for targets away. */
export interface EventAdapter extends Adapter {
  /** One upstream event of account `selfId`, each client getting it in its profile's shape. Must never wait for a client. */
  deliver(event: OutgoingEvent, selfId: SelfId): void;
  /** Take out what it keeps for targets that are away, for the endpoint that replaces it on a reload. */
  handOver(): KeptEvents;
  /** Keep what the endpoint it replaces kept (before it opens). */
  adopt(kept: KeptEvents): void;
}

export function carriesEvents(adapter: Adapter): adapter is EventAdapter {
  return 'deliver' in adapter;
}

/**
 * An endpoint that keeps something per account (a poster, sockets): `serve` each account served now and each one
 * added, `retire` each one removed. Returns a function that stops following.
 */
export function followAccounts(accounts: Accounts, serve: (selfId: SelfId) => void, retire: (selfId: SelfId) => void): () => void {
  for (const selfId of accounts.selfIds()) serve(selfId);
  return accounts.onAccount((selfId, change) => (change === 'added' ? serve(selfId) : retire(selfId)));
}
