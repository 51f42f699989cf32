// Events an implementation reports twice (NapCatQQ#1051 a recall, #574 an invite, NapCat-Docker#78 a friend
// request): one identical to an event seen from the same account within the window, `time` apart, is dropped.
// Events are compared as the bytes they came in (an implementation writes its repeats the same way), hashed once.
import { fieldBytes } from './json-text.ts';

export class DuplicateFilter {
  /**
   * When each event (by a hash of its bytes but the value of `time`) was let through: those of this generation, and
   * of the one before. A generation lasts at least a window, so what the one before saw is all that can still count;
   * older ones are let go whole. Expiring entry by entry cost a Map's iteration over its deleted slots, and forgetting
   * a second's worth at once delayed the event that came then by a fraction of a millisecond.
   */
  private current = new Map<number, number>();
  private previous = new Map<number, number>();
  private generationStart = Date.now();
  /** Events dropped as duplicates. */
  dropped = 0;

  constructor(
    /** ms; 0: off. */
    private window: number,
  ) {}

  /** A new window from now on (a reload). */
  configure(window: number): void {
    this.window = window;
    if (window === 0) {
      this.current = new Map();
      this.previous = new Map();
    }
  }

  /** True when `event` (a JSON object's bytes) repeats one let through within the window: drop it. */
  isDuplicate(event: Buffer): boolean {
    if (this.window <= 0) return false;
    const now = Date.now();
    if (now - this.generationStart >= this.window) {
      this.previous = this.current;
      this.current = new Map();
      this.generationStart = now;
    }
    const time = fieldBytes(event, 'time');
    const skip = time ? time.byteOffset - event.byteOffset : event.length;
    const key = hash53(event, skip, skip + (time?.length ?? 0));
    const at = this.current.get(key) ?? this.previous.get(key);
    if (at !== undefined && now - at <= this.window) {
      this.dropped++;
      return true;
    }
    this.current.set(key, now);
    return false;
  }
}

/**
 * A 53-bit hash of `bytes` but [skipFrom, skipTo), read four bytes at a time into two 32-bit lanes (multiply, then
 * rotate, so that every bit of a word reaches every bit of the lane), each finished with MurmurHash3's mixing step, in
 * one number a Map keys cheaply. Not cryptographic, and it need not be: two of an account's events within the window
 * share a hash about once in 2^53 / (events in the window), and no sender can aim at another's event. SHA-1 through
 * node:crypto, with the copy that left out `time`, was a fifth of a small event's way to its first client.
 */
export function hash53(bytes: Buffer, skipFrom = bytes.length, skipTo = skipFrom): number {
  let a = 0x811c9dc5 ^ bytes.length;
  let b = 0x9e3779b9 ^ skipFrom;
  // The bytes before the skipped ones, then those after: whole words first, then the last one to three bytes.
  for (let part = 0; part < 2; part++) {
    const to = part === 0 ? skipFrom : bytes.length;
    let i = part === 0 ? 0 : skipTo;
    for (; i + 4 <= to; i += 4) {
      const word = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
      a = Math.imul(a ^ word, 0xcc9e2d51);
      a = (a << 15) | (a >>> 17);
      b = Math.imul(b ^ word, 0x1b873593);
      b = (b << 13) | (b >>> 19);
    }
    for (; i < to; i++) {
      a = Math.imul(a ^ bytes[i]!, 0x01000193);
      b = Math.imul(b ^ bytes[i]!, 0x5bd1e995);
    }
  }
  return (mix32(a ^ b) & 0x1fffff) * 0x100000000 + mix32(b + Math.imul(a, 0x27d4eb2f));
}

/** MurmurHash3's fmix32: every input bit reaches every output bit. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
