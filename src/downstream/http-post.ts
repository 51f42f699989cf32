// HTTP POST target: each event POSTed to a framework's webhook, in order, signed; quick operations carried out.
import { signature } from '../auth.ts';
import { type BufferLimits, EventBuffer, type KeptEvent } from '../event-buffer.ts';
import { fetchFailure } from '../fetch-failure.ts';
import type { Accounts } from '../hub.ts';
import { type Logger, redactUrl } from '../log.ts';
import { isJsonObject, type SelfId } from '../onebot.ts';
import { EndpointProfiles } from '../profile/endpoint-profiles.ts';
import type { OutgoingEvent } from '../profile/profile.ts';
import { type ReconnectOptions, Reconnector } from '../reconnector.ts';
import { parseSelfId } from '../upstream/upstream.ts';
import {
  addTotals,
  type ClientStatus,
  clientStatus,
  type EndpointTotals,
  type EventAdapter,
  followAccounts,
  type KeptEvents,
} from './adapter.ts';
import { ClientLifecycle } from './lifecycle.ts';

export interface PostTarget {
  url: string;
  /** HMAC key for X-Signature; none: unsigned. */
  secret: string;
  /** Give up on one request after this long, ms. */
  timeout: number;
  /** Relay heartbeats to this target, ms; 0: none (the spec's default for HTTP POST). */
  heartbeat: number;
}

export interface PostOptions {
  reconnect: ReconnectOptions;
  /** Events waiting for the target, kept while it is unreachable. */
  buffer: BufferLimits;
}

type Outcome = 'delivered' | 'failed' | 'unreachable';

/** The lifecycle disable at shutdown gets at most this long, ms. */
const FAREWELL_TIMEOUT_MS = 1000;

export class HttpPostAdapter implements EventAdapter {
  readonly name: string;
  /** One poster per account, by self_id. */
  private readonly posters = new Map<string, AccountPoster>();
  /** What posters of accounts no longer served had counted. */
  private gone: EndpointTotals = { delivered: 0, dropped: 0, failed: 0 };
  private stopWatching: () => void = () => {};

  constructor(
    private readonly target: PostTarget,
    private readonly accounts: Accounts,
    private readonly options: PostOptions,
    private readonly log: Logger,
    private profiles = new EndpointProfiles(),
  ) {
    this.name = `HTTP POST to ${redactUrl(target.url)}`;
  }

  clients(): ClientStatus[] {
    return [...this.posters.values()].map((p) => p.status());
  }

  totals(): EndpointTotals {
    return addTotals(this.clients(), { ...this.gone });
  }

  handOver(): KeptEvents {
    return new Map([...this.posters].map(([selfId, poster]) => [selfId, poster.takeAll()]));
  }

  adopt(kept: KeptEvents): void {
    for (const [selfId, events] of kept) this.posterFor(parseSelfId(selfId)!).adopt(events);
  }

  async open(): Promise<void> {
    this.stopWatching = followAccounts(
      this.accounts,
      (selfId) => this.posterFor(selfId),
      (selfId) => void this.retire(selfId),
    );
  }

  deliver(event: OutgoingEvent, selfId: SelfId): void {
    const text = event.for(this.profiles.for());
    if (text !== undefined) this.posterFor(selfId).deliver(text);
  }

  useProfiles(profiles: EndpointProfiles): void {
    this.profiles = profiles;
  }

  /** Tell the target the relay stops serving each account (lifecycle disable), then stop. */
  async close(): Promise<void> {
    this.stopWatching();
    await Promise.all([...this.posters.values()].map((p) => p.close()));
  }

  private posterFor(selfId: SelfId): AccountPoster {
    let poster = this.posters.get(String(selfId));
    if (!poster) {
      poster = new AccountPoster(this.target, selfId, this.accounts, this.options, this.log);
      this.posters.set(String(selfId), poster);
      poster.start();
    }
    return poster;
  }

  /** An account is no longer served: its poster says disable and goes. */
  private async retire(selfId: SelfId): Promise<void> {
    const poster = this.posters.get(String(selfId));
    if (!poster) return;
    this.posters.delete(String(selfId));
    this.gone = addTotals([poster.status()], this.gone);
    await poster.close();
  }
}

/** The POSTs of one account to the target: its own queue, order and retries. */
class AccountPoster {
  readonly name: string;
  private readonly queue: EventBuffer;
  private readonly reconnector: Reconnector;
  private sending = false;
  /** A retry is scheduled: new events wait for it. Without one (what it had to send expired), the next event is the next attempt. */
  private retrying = false;
  private delivered = 0;
  private failed = 0;
  private lastError: string | undefined;
  private stopped = false;
  private readonly lifecycle: ClientLifecycle;

  constructor(
    private readonly target: PostTarget,
    private readonly selfId: SelfId,
    private readonly accounts: Accounts,
    options: PostOptions,
    private readonly log: Logger,
  ) {
    this.name = `HTTP POST to ${redactUrl(target.url)} (account ${selfId})`;
    this.reconnector = new Reconnector(
      this.name,
      () => {
        this.retrying = false;
        void this.drain();
      },
      options.reconnect,
      log,
    );
    this.queue = new EventBuffer(this.name, options.buffer, log, `post ${redactUrl(target.url)} ${selfId}`);
    this.lifecycle = new ClientLifecycle(accounts, target.heartbeat, {
      lifecycle: (event) => this.deliver(event, false),
      // Heartbeats say "alive now": never queued behind events or kept for later.
      // Its outcome does not matter: the next event finds out whether the target is there.
      heartbeat: (event) => {
        if (this.reconnector.isUp && this.queue.size === 0 && !this.sending) void this.post(event);
      },
    });
  }

  status(): ClientStatus {
    return clientStatus({
      label: `${redactUrl(this.target.url)} as ${this.selfId}`,
      self_id: this.selfId,
      role: 'post',
      connected: this.reconnector.isUp,
      delivered: this.delivered,
      buffered: this.queue.size,
      dropped: this.queue.dropped,
      failed: this.failed,
      lastError: this.lastError,
    });
  }

  takeAll(): KeptEvent[] {
    return this.queue.takeAll();
  }

  adopt(kept: KeptEvent[]): void {
    this.queue.adopt(kept);
    void this.drain();
  }

  start(): void {
    this.reconnector.up(); // reachable until a POST finds otherwise
    // The spec's lifecycle over HTTP POST: enable once the relay serves the target (NoneBot then has its bot, before any
    // message, even one the spool kept from before a restart), disable at the end.
    this.lifecycle.begin(this.selfId, 'enable');
    this.queue.recover();
  }

  /** `durable`: kept in the spool too (not the relay's own lifecycle events). */
  deliver(event: string, durable = true): void {
    if (this.stopped) return;
    this.queue.push(event, durable);
    if (!this.retrying) void this.drain();
  }

  /** Tell the target the relay stops serving it (lifecycle disable), then stop. */
  async close(): Promise<void> {
    this.stopped = true;
    const disable = this.lifecycle.end();
    this.reconnector.stop();
    this.queue.abandon();
    // Briefly: a shutdown must not wait out --post-timeout.
    if (this.reconnector.isUp && disable) await this.post(disable, Math.min(this.target.timeout, FAREWELL_TIMEOUT_MS));
  }

  /** Send queued events one at a time, in order; stop at an unreachable target and retry with backoff. */
  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    // Each event is out of the queue while it is posted, so that events pushed meanwhile cannot drop it.
    for (let event: KeptEvent | undefined; !this.stopped && (event = this.queue.shift()) !== undefined; ) {
      const outcome = await this.post(event.text);
      if (outcome === 'unreachable') {
        this.queue.unshift(event);
        this.retrying = true;
        this.reconnector.failed(this.lastError!);
        break;
      }
      if (outcome === 'delivered') this.delivered++;
      else this.failed++;
      if (!this.reconnector.isUp) {
        this.reconnector.up();
        this.queue.replaying();
      }
    }
    this.sending = false;
  }

  /** One POST. Unreachable: certainly not handled (no connection, or the target said it is unavailable). */
  private async post(raw: string, timeout = this.target.timeout): Promise<Outcome> {
    // Koishi checks the signature over JSON.stringify of what it parsed: send exactly those bytes.
    const event = JSON.parse(raw) as Record<string, unknown>;
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Self-ID': String(this.selfId) };
    if (this.target.secret) headers['X-Signature'] = signature(this.target.secret, body);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.target.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeout) });
      text = await res.text();
    } catch (err) {
      const failure = fetchFailure(err);
      if (failure.neverSent) {
        this.lastError = failure.why;
        return 'unreachable';
      }
      // Anything else may have reached the framework and been handled: resending could deliver it twice.
      if (failure.timedOut) return this.fail(`no answer within ${timeout} ms; the event counts as failed and is not resent`);
      return this.fail(`POST failed (${failure.why}); the event counts as failed and is not resent`);
    }
    // 502 and 503: a proxy or server saying the framework is not there (yet): it did not take the event.
    if (res.status === 502 || res.status === 503) {
      this.lastError = `HTTP ${res.status}`;
      return 'unreachable';
    }
    if (!res.ok)
      return this.fail(
        `answered HTTP ${res.status}${res.status === 401 || res.status === 403 ? ' (check the secret and X-Self-ID it expects)' : ''}`,
      );
    if (text.trim()) this.quickOperation(event, text);
    return 'delivered';
  }

  private fail(why: string): Outcome {
    this.lastError = why;
    this.log.warn(`${this.name}: ${why}`);
    return 'failed';
  }

  /** A non-empty JSON answer is a quick operation on the event, carried out upstream. */
  private quickOperation(context: Record<string, unknown>, text: string): void {
    let operation: unknown;
    try {
      operation = JSON.parse(text);
    } catch {
      this.log.warn(`${this.name}: answered with a body that is not JSON; ignored`);
      return;
    }
    if (!isJsonObject(operation) || Object.keys(operation).length === 0) return;
    this.accounts.call(
      this.selfId,
      {
        label: this.name,
        reply: (r) => r.status === 'failed' && this.log.warn(`${this.name}: quick operation failed: ${String(r.message ?? r.retcode)}`),
      },
      { action: '.handle_quick_operation', params: { context, operation } },
    );
  }
}
