// Events an implementation reports twice (NapCatQQ#1051 a recall, #574 an invite, NapCat-Docker#78 a friend
// request): one identical to an event seen from the same account within the window, `time` apart, is dropped.
// Events are compared as the text they came in (an implementation writes its repeats the same way), hashed once.
import { hash } from 'node:crypto';
import { withoutValue } from './json-text.ts';

/** How often what was seen longer ago than the window is let go, ms. */
const FORGET_EVERY_MS = 1_000;

export class DuplicateFilter {
  /** When each event (by a hash of its text without the value of `time`) was last let through; oldest first. */
  private readonly seen = new Map<string, number>();
  private forgotten = 0;
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

  /** True when `event` (a JSON object's text) repeats one let through within the window: drop it. */
  isDuplicate(event: Buffer): boolean {
    if (this.window <= 0) return false;
    const now = Date.now();
    if (now - this.forgotten >= FORGET_EVERY_MS) this.forget(now);
    const key = hash('sha1', withoutValue(event, 'time'), 'base64');
    const at = this.seen.get(key);
    if (at !== undefined && now - at <= this.window) {
      this.dropped++;
      return true;
    }
    this.seen.delete(key); // set again at the end: the oldest stay first
    this.seen.set(key, now);
    return false;
  }

  /** Events let through longer ago than the window no longer count (and need no memory). */
  private forget(now: number): void {
    this.forgotten = now;
    for (const [key, at] of this.seen) {
      if (now - at <= this.window) return;
      this.seen.delete(key);
    }
  }
}
