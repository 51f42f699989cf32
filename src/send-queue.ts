// Calls waiting for their turn under rate limits: one sliding window per key, and fair turns between callers
// (round-robin), so that one plugin's flood never starves another client's replies. A call goes as soon as
// every window it comes under has room; a later call under other windows does not wait behind it.
import { type Rate, SlidingWindow } from './send-limit.ts';

export interface Waiting {
  /** Whose turn it is: each owner gets one call out per round. */
  readonly owner: object;
  /** The windows it comes under. */
  readonly keys: readonly string[];
}

/** Windows idle past their duration are forgotten once there are more than this (a broadcast to many groups). */
const SWEEP_ABOVE = 512;

export class SendQueue<T extends Waiting> {
  /** By owner, in the order of their next turn. */
  private readonly waiting = new Map<object, T[]>();
  private readonly windows = new Map<string, SlidingWindow>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The rate of a key now (a reload may change it). */
    private readonly rateOf: (key: string) => Rate,
    /** Whether calls can go out now (the link is up). */
    private readonly open: () => boolean,
    /** Its turn came: send it. */
    private readonly release: (entry: T) => void,
  ) {}

  get size(): number {
    let n = 0;
    for (const queue of this.waiting.values()) n += queue.length;
    return n;
  }

  /** The first of `keys` whose window is full now, if any. */
  blockedBy(keys: readonly string[], now = Date.now()): string | undefined {
    return keys.find((key) => this.freeAt(key) > now);
  }

  /** Whether anything waiting comes under `key`. */
  holds(key: string): boolean {
    for (const queue of this.waiting.values()) if (queue.some((e) => e.keys.includes(key))) return true;
    return false;
  }

  /** `dispatch`: false to add several before any goes. */
  add(entry: T, dispatch = true): void {
    const queue = this.waiting.get(entry.owner);
    if (queue) queue.push(entry);
    else this.waiting.set(entry.owner, [entry]);
    if (dispatch) this.dispatch();
  }

  /** Take it out (its time ran out, or its caller left); false when it was not waiting. */
  remove(entry: T): boolean {
    const queue = this.waiting.get(entry.owner);
    const i = queue?.indexOf(entry) ?? -1;
    if (i < 0) return false;
    queue!.splice(i, 1);
    if (queue!.length === 0) this.waiting.delete(entry.owner);
    return true;
  }

  /** Everything waiting, in no particular order, taken out. */
  drain(): T[] {
    const all = [...this.waiting.values()].flat();
    this.waiting.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    return all;
  }

  entries(): T[] {
    return [...this.waiting.values()].flat();
  }

  /** Send every call whose turn has come, one per owner per round; then wait for the next window to free up. */
  dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.open()) return; // the link coming up dispatches again
    const now = Date.now();
    let next = Infinity;
    for (let sent = true; sent; ) {
      sent = false;
      next = Infinity;
      for (const [owner, queue] of this.waiting) {
        const i = queue.findIndex((e) => this.blockedBy(e.keys, now) === undefined);
        if (i < 0) {
          for (const e of queue) next = Math.min(next, Math.max(...e.keys.map((k) => this.freeAt(k))));
          continue;
        }
        const [entry] = queue.splice(i, 1) as [T];
        // Its turn is used: to the back of the round.
        this.waiting.delete(owner);
        if (queue.length) this.waiting.set(owner, queue);
        for (const key of entry.keys) this.record(key, now);
        this.release(entry);
        sent = true;
        break;
      }
    }
    if (next < Infinity) this.timer = setTimeout(() => this.dispatch(), Math.max(0, next - now));
  }

  private freeAt(key: string): number {
    return this.windows.get(key)?.freeAt(this.rateOf(key)) ?? -Infinity;
  }

  private record(key: string, now: number): void {
    let window = this.windows.get(key);
    if (!window) {
      if (this.windows.size >= SWEEP_ABOVE) this.sweep(now);
      this.windows.set(key, (window = new SlidingWindow()));
    }
    window.record(now, this.rateOf(key));
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.idle(now, this.rateOf(key))) this.windows.delete(key);
  }
}
