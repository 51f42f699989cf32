// Exponential backoff with full jitter: each delay is uniform in [0, min(cap, base * 2^attempt)].
export interface BackoffOptions {
  /** Upper bound of the first delay, ms. */
  base: number;
  /** Upper bound of any delay, ms. */
  cap: number;
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
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
