// Exponential backoff with full jitter: each delay is uniform in [floor, min(cap, base * 2^attempt)].
export interface BackoffOptions {
  /** Upper bound of the first delay, ms. */
  base: number;
  /** Upper bound of any delay, ms. */
  cap: number;
  /** Lower bound of any delay, ms (default 0): retries no more often than this. */
  floor?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.options.cap, this.options.base * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const floor = Math.min(this.options.floor ?? 0, ceiling);
    return Math.floor(floor + this.random() * (ceiling - floor));
  }

  reset(): void {
    this.attempt = 0;
  }
}
