// Events kept for one target while it is away (and an HTTP POST target's send queue): oldest first,
// bounded by count, bytes and age. With a spool, each is also on disk until it is taken out or dropped.
import type { Logger } from './log.ts';
import type { Spool } from './spool.ts';
import type { TargetSpool } from './spool-target.ts';

export interface BufferLimits {
  events: number;
  bytes: number;
  /** ms */
  age: number;
  /** Where kept events are also written, to survive a restart; none: memory only. */
  spool?: Spool;
}

/** One event kept, and since when. */
export interface KeptEvent {
  text: string;
  bytes: number;
  at: number;
  /** Its number in the spool, when it is there. */
  seq?: number;
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

  /** Its log in the spool, if there is a spool. */
  private readonly store: TargetSpool | undefined;

  constructor(
    private readonly target: string,
    private readonly limits: BufferLimits,
    private readonly log: Logger,
    /** What names the target in the spool: its endpoint, account and client name or role. */
    spoolKey?: string,
  ) {
    this.store = spoolKey === undefined ? undefined : limits.spool?.target(spoolKey);
  }

  /** Keep what the spool had kept for the target before the relay stopped (once), as old as it is. */
  recover(): void {
    const recovered = this.store?.takeRecovered() ?? [];
    this.adopt(recovered.map(({ seq, at, text }) => ({ text, bytes: Buffer.byteLength(text), at, seq })));
  }

  get size(): number {
    return this.entries.length - this.first;
  }

  /** Keep an event; `durable`: in the spool too (the relay's own lifecycle events are not worth replaying). */
  push(text: string, durable = true): void {
    const now = Date.now();
    this.expire(now);
    const bytes = Buffer.byteLength(text);
    const seq = durable ? this.store?.append(text, now) : undefined;
    this.entries.push(seq === undefined ? { text, bytes, at: now } : { text, bytes, at: now, seq });
    this.bytes += bytes;
    this.bound();
  }

  /** The oldest event still fresh, without taking it. */
  peek(): string | undefined {
    this.expire(Date.now());
    return this.entries[this.first]?.text;
  }

  /**
   * Take the oldest event still fresh, to send it. From now on the spool no longer keeps it: should the relay die
   * while it is being sent, it is not sent again (at most once).
   */
  shift(): KeptEvent | undefined {
    this.expire(Date.now());
    const oldest = this.entries[this.first];
    if (oldest) {
      this.removeOldest();
      this.done(oldest);
    }
    return oldest;
  }

  /** What was taken is crossed off the spool on disk now, before it is sent, not once the callback is done. */
  settle(): void {
    this.store?.flush();
  }

  /** Put back in front an event taken by shift() that certainly was not sent: the limits apply to it again. */
  unshift(event: KeptEvent): void {
    if (event.seq !== undefined) this.store?.requeue({ seq: event.seq, at: event.at, text: event.text });
    if (this.first > 0) this.entries[--this.first] = event;
    else this.entries.unshift(event);
    this.bytes += event.bytes;
    this.expire(Date.now());
    this.bound();
  }

  /** Take every event still fresh, oldest first: an endpoint restarted by a reload hands them to its successor. */
  takeAll(): KeptEvent[] {
    this.expire(Date.now());
    const all: KeptEvent[] = [];
    while (this.size > 0) {
      all.push(this.entries[this.first]!);
      this.removeOldest();
    }
    return all;
  }

  /** Forget every event kept: the target will never get them. */
  discard(): void {
    const all = this.takeAll();
    if (all.length) this.done(all.at(-1)!);
  }

  /** The target is known from now on, kept for or not: after a restart it is away until it returns. */
  claim(): void {
    this.store?.claim();
  }

  /** The target is forgotten for good: its events and its files go. */
  remove(): void {
    this.takeAll();
    this.store?.remove();
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

  /** The spool no longer keeps `event` (nor anything older). */
  private done(event: KeptEvent): void {
    if (event.seq !== undefined) this.store?.ack(event.seq);
  }

  private dropOldest(why: 'full' | 'expired'): void {
    this.done(this.entries[this.first]!);
    this.removeOldest();
    this.dropped++;
    if (this.droppedNow++ === 0) {
      const limit =
        why === 'full' ? `${this.limits.events} events or ${this.limits.bytes} bytes` : `${Math.round(this.limits.age / 1000)} s`;
      this.log.warn(`${this.target}: its buffer is over ${limit}: dropping the oldest events (counted; totals when it is back)`);
    }
  }
}
