// Events an implementation reports twice (NapCatQQ#1051 a recall, #574 an invite, NapCat-Docker#78 a friend
// request): one identical to an event seen from the same account within the window, `time` apart, is dropped.
import { createHash } from 'node:crypto';

export class DuplicateFilter {
  /** When each event (by a hash of it without `time`) was last let through; oldest first. */
  private readonly seen = new Map<string, number>();
  /** Events dropped as duplicates. */
  dropped = 0;

  constructor(
    /** ms; 0: off. */
    private window: number,
  ) {}

  /** A new window from now on (a reload). */
  configure(window: number): void {
    this.window = window;
    if (window === 0) this.seen.clear();
  }

  /** True when `event` repeats one let through within the window: drop it. */
  isDuplicate(event: Record<string, unknown>): boolean {
    if (this.window <= 0) return false;
    const now = Date.now();
    this.forget(now);
    const { time: _, ...rest } = event;
    const key = createHash('sha1').update(JSON.stringify(rest)).digest('base64');
    if (this.seen.has(key)) {
      this.dropped++;
      return true;
    }
    this.seen.set(key, now);
    return false;
  }

  /** Events let through longer ago than the window no longer count. */
  private forget(now: number): void {
    for (const [key, at] of this.seen) {
      if (now - at <= this.window) return;
      this.seen.delete(key);
    }
  }
}
