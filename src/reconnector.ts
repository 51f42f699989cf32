// The one reconnect loop of a link: at most one pending attempt, backoff with jitter, summarised failure logs.
import { Backoff } from './backoff.ts';
import type { Logger } from './log.ts';

export interface ReconnectOptions {
  /** Upper bound of the first retry delay, ms. */
  base: number;
  /** Upper bound of any retry delay, ms. */
  cap: number;
  /** A link that stayed up this long starts the next outage from the first delay again, ms. */
  stableAfter: number;
  /** Lower bound of any retry delay, ms (default 0). */
  floor?: number;
  random?: () => number;
}

const SUMMARY_EVERY_MS = 60_000;

export class Reconnector {
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private upSince: number | undefined;
  private failures = 0;
  private failingSince = 0;
  private lastSummary = 0;
  /** Why the latest attempt failed, while attempts are failing. */
  lastFailure: string | undefined;

  constructor(
    private readonly what: string,
    private readonly attempt: () => void,
    private readonly options: ReconnectOptions,
    private readonly log: Logger,
  ) {
    this.backoff = new Backoff(options);
  }

  /** Attempts have failed since the link was last up (it was refused, not just lost). */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** Between up() and the next lost() or failed(): what the link's users ask before they use it. */
  get isUp(): boolean {
    return this.upSince !== undefined;
  }

  /** The link is up: report how long it was failing, if it was. */
  up(): void {
    if (this.failures > 0) {
      const seconds = ((Date.now() - this.failingSince) / 1000).toFixed(1);
      this.log.info(`${this.what} reachable again after ${this.failures} failed attempt(s) over ${seconds} s`);
    }
    this.failures = 0;
    this.lastFailure = undefined;
    this.upSince = Date.now();
  }

  /** An established link went down: schedule the next attempt. */
  lost(): void {
    this.wentDown();
    this.schedule();
  }

  /**
   * An attempt failed (or a link that works by attempts, like HTTP POST, failed one): log it once per
   * series (then a summary a minute) and schedule the next.
   */
  failed(reason: string): void {
    this.wentDown();
    if (this.stopped) return; // no retry to announce
    const now = Date.now();
    this.failures++;
    this.lastFailure = reason;
    if (this.failures === 1) {
      this.failingSince = now;
      this.lastSummary = now;
      this.log.warn(`cannot reach ${this.what}: ${reason}; retrying with backoff (at most ${this.options.cap} ms apart)`);
    } else if (now - this.lastSummary >= SUMMARY_EVERY_MS) {
      this.lastSummary = now;
      const seconds = Math.round((now - this.failingSince) / 1000);
      this.log.warn(`still cannot reach ${this.what}: ${this.failures} attempts failed over ${seconds} s; last error: ${reason}`);
    } else {
      this.log.debug(`attempt ${this.failures} to reach ${this.what} failed: ${reason}`);
    }
    this.schedule();
  }

  /** A link that stayed up long enough starts its next outage from the first delay again. */
  private wentDown(): void {
    if (this.upSince !== undefined && Date.now() - this.upSince >= this.options.stableAfter) this.backoff.reset();
    this.upSince = undefined;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const delay = this.backoff.next();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.attempt();
    }, delay);
  }
}
