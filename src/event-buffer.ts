// Events kept for one target while it is away (and an HTTP POST target's send queue): oldest first,
// bounded by count, bytes and age.
import type { Logger } from './log.ts';

export interface BufferLimits {
  events: number;
  bytes: number;
  /** ms */
  age: number;
}

/** One event kept, and since when. */
export interface KeptEvent {
  text: string;
  bytes: number;
  at: number;
}

/** Say that `count` kept events for `what` will never be delivered: it closed for good, or a reload removed it. */
export function reportUndelivered(log: Logger, what: string, count: number): void {
  if (count > 0) log.warn(`${count} kept event(s) for ${what} not delivered`);
}

export class EventBuffer {
  /** Taken or dropped entries before `first` are cleared at once, and cut off now and then. */
  private entries: (KeptEvent | undefined)[] = [];
  private first = 0;
  private bytes = 0;
  /** Dropped since the target went away (reported when it returns). */
  private droppedNow = 0;
  /** Dropped over the relay's life. */
  dropped = 0;

  constructor(
    private readonly target: string,
    private readonly limits: BufferLimits,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.entries.length - this.first;
  }

  push(text: string): void {
    const now = Date.now();
    this.expire(now);
    const bytes = Buffer.byteLength(text);
    this.entries.push({ text, bytes, at: now });
    this.bytes += bytes;
    this.bound();
  }

  /** The oldest event still fresh, without taking it. */
  peek(): string | undefined {
    this.expire(Date.now());
    return this.entries[this.first]?.text;
  }

  /** Take the oldest event still fresh. */
  shift(): KeptEvent | undefined {
    this.expire(Date.now());
    const oldest = this.entries[this.first];
    if (oldest) this.removeOldest();
    return oldest;
  }

  /** Put back in front an event taken by shift() that could not be sent: the limits apply to it again. */
  unshift(event: KeptEvent): void {
    if (this.first > 0) this.entries[--this.first] = event;
    else this.entries.unshift(event);
    this.bytes += event.bytes;
    this.expire(Date.now());
    this.bound();
  }

  /** Take every event still fresh, oldest first: an endpoint restarted by a reload hands them to its successor. */
  takeAll(): KeptEvent[] {
    const all: KeptEvent[] = [];
    for (let event = this.shift(); event; event = this.shift()) all.push(event);
    return all;
  }

  /** Keep events handed over by the endpoint this one replaces, as old as they are, under this buffer's limits. */
  adopt(events: KeptEvent[]): void {
    for (const event of events) {
      this.entries.push(event);
      this.bytes += event.bytes;
    }
    this.expire(Date.now());
    this.bound();
  }

  /** The target is gone for good: say how many events it never gets. */
  abandon(): void {
    reportUndelivered(this.log, this.target, this.size);
  }

  /** The target is back: say what it gets and what it lost. */
  replaying(): void {
    if (this.size === 0 && this.droppedNow === 0) return;
    const lost = this.droppedNow ? `; ${this.droppedNow} older event(s) were dropped while it was away` : '';
    (this.droppedNow ? this.log.warn : this.log.info)(`${this.target} is back: replaying ${this.size} buffered event(s)${lost}`);
    this.droppedNow = 0;
  }

  private bound(): void {
    while (this.size > this.limits.events || this.bytes > this.limits.bytes) this.dropOldest('full');
  }

  private expire(now: number): void {
    while (this.size > 0 && now - this.entries[this.first]!.at > this.limits.age) this.dropOldest('expired');
  }

  private removeOldest(): void {
    this.bytes -= this.entries[this.first]!.bytes;
    this.entries[this.first++] = undefined;
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }

  private dropOldest(why: 'full' | 'expired'): void {
    this.removeOldest();
    this.dropped++;
    if (this.droppedNow++ === 0) {
      const limit =
        why === 'full' ? `${this.limits.events} events or ${this.limits.bytes} bytes` : `${Math.round(this.limits.age / 1000)} s`;
      this.log.warn(`${this.target}: its buffer is over ${limit}: dropping the oldest events (counted; totals when it is back)`);
    }
  }
}
