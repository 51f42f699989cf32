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

  /** True when `event` (a JSON object's text) repeats one let through within the window: drop it. */
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
 * A 53-bit hash of `bytes` but [skipFrom, skipTo): two 32-bit multiply-xor lanes, each finished with MurmurHash3's
 * mixing step, in one number a Map keys cheaply. Not cryptographic, and it need not be: two of an account's events
 * within the window share a hash about once in 2^53 / (events in the window), and no sender can aim at another's
 * event. SHA-1 through node:crypto, with the copy that left out `time`, was a fifth of an event's way to its first
 * client.
 */
export function hash53(bytes: Buffer, skipFrom = bytes.length, skipTo = skipFrom): number {
  let a = 0x811c9dc5 ^ bytes.length;
  let b = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    if (i === skipFrom) i = skipTo;
    if (i >= bytes.length) break;
    const byte = bytes[i]!;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995);
  }
  return (mix32(a ^ b) & 0x1fffff) * 0x100000000 + mix32(b + Math.imul(a, 0x27d4eb2f));
}

/** MurmurHash3's fmix32: every input bit reaches every output bit. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
