// One channel's deliveries: its alerts in order, one at a time, each retried with backoff up to a bound, none
// ever waited for by anything else. A channel that fails is logged once until it delivers again, and shown.
import type { Logger } from '../log.ts';
import type { Alert, AlertEvent } from './alert.ts';
import type { AlertChannel } from './channels/channel.ts';

/** Waits before each retry of one alert, ms: 8 attempts over about 2 minutes, then it is given up. */
export const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000];
/** One attempt's limit, ms. */
export const ATTEMPT_MS = 10_000;
/** Alerts waiting for one channel; past this the oldest are dropped (a channel down for hours). */
const QUEUE_LIMIT = 100;

export interface DeliverySpec {
  type: string;
  name?: string;
  events: readonly AlertEvent[];
}

export interface ChannelStatus {
  name: string;
  type: string;
  events: readonly AlertEvent[];
  state: 'ok' | 'failing';
  /** Alerts delivered since the start. */
  delivered: number;
  /** Alerts given up after every attempt, or dropped from a full queue. */
  lost: number;
  queued: number;
  failing_since?: string;
  /** Its latest failure, secrets taken out. */
  last_error?: string;
  last_delivered?: string;
}

export interface AttemptResult {
  channel: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export class Delivery {
  readonly name: string;
  private readonly queue: Alert[] = [];
  private pumping: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private delivered = 0;
  private lost = 0;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private lastDelivered: number | undefined;

  constructor(
    private readonly channel: AlertChannel & { retry?: false },
    readonly spec: DeliverySpec,
    private readonly log: Logger,
    private readonly delays: readonly number[] = RETRY_DELAYS_MS,
  ) {
    this.name = spec.name ?? channel.label;
  }

  wants(event: AlertEvent): boolean {
    return this.spec.events.includes(event);
  }

  /** Deliver it when its turn comes, retrying; returns at once. */
  push(alert: Alert): void {
    if (this.closed) return;
    this.queue.push(alert);
    if (this.queue.length > QUEUE_LIMIT) {
      this.queue.shift();
      this.lost++;
    }
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** One attempt, now (the test alert); the channel's state follows its result. */
  async attempt(alert: Alert): Promise<AttemptResult> {
    const started = performance.now();
    try {
      await this.channel.send(alert, AbortSignal.timeout(ATTEMPT_MS));
      this.succeeded();
      return { channel: this.name, ok: true, ms: Math.round(performance.now() - started) };
    } catch (err) {
      const error = this.failed(err as Error);
      return { channel: this.name, ok: false, error, ms: Math.round(performance.now() - started) };
    }
  }

  /** Resolves once everything queued has been tried, or after `limit` ms (the relay is stopping). */
  async settle(limit: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pumping, new Promise((resolve) => (timer = setTimeout(resolve, limit)))]);
    clearTimeout(timer);
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.wake?.();
  }

  status(): ChannelStatus {
    return {
      name: this.name,
      type: this.spec.type,
      events: this.spec.events,
      state: this.failingSince === undefined ? 'ok' : 'failing',
      delivered: this.delivered,
      lost: this.lost,
      queued: this.queue.length,
      ...(this.failingSince === undefined ? {} : { failing_since: new Date(this.failingSince).toISOString() }),
      ...(this.lastError === undefined ? {} : { last_error: this.lastError }),
      ...(this.lastDelivered === undefined ? {} : { last_delivered: new Date(this.lastDelivered).toISOString() }),
    };
  }

  private async pump(): Promise<void> {
    while (!this.closed && this.queue.length) {
      const alert = this.queue[0]!;
      const retries = this.channel.retry === false ? [] : this.delays;
      let ok = (await this.attempt(alert)).ok;
      for (let i = 0; !ok && i < retries.length && !this.closed; i++) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retries[i]);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (!this.closed) ok = (await this.attempt(alert)).ok;
      }
      if (this.queue[0] === alert) this.queue.shift();
      if (!ok) this.lost++;
    }
  }

  private succeeded(): void {
    this.delivered++;
    this.lastDelivered = Date.now();
    if (this.failingSince === undefined) return;
    this.log.info(`alert channel ${this.name} delivers again (it failed from ${new Date(this.failingSince).toISOString()})`);
    this.failingSince = undefined;
  }

  /** Records a failure, logged once while the channel keeps failing; returns its reason, secrets taken out. */
  private failed(err: Error): string {
    const why = redact(err.message, this.channel.secrets);
    this.lastError = why;
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      const retried = this.channel.retry === false ? 'not retried' : `each alert is tried ${this.delays.length + 1} times with backoff`;
      this.log.warn(`alert channel ${this.name} failed: ${why} (${retried}; logged again once it delivers)`);
    } else {
      this.log.debug(`alert channel ${this.name} failed again: ${why}`);
    }
    return why;
  }
}

/** `text` with every secret (of 4 characters or more) replaced by ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
