// Numbers for the status page: rates over the last seconds, and call latency percentiles per action.
import type { CallRecord } from './calls.ts';

/** Events per second, averaged over the last `seconds` whole seconds. */
export class RateMeter {
  private readonly counts: number[];
  private second = Math.floor(Date.now() / 1000);

  constructor(private readonly seconds = 10) {
    this.counts = new Array<number>(seconds + 1).fill(0);
  }

  mark(): void {
    this.advance();
    this.counts[this.second % this.counts.length]!++;
  }

  perSecond(): number {
    this.advance();
    const current = this.second % this.counts.length;
    const total = this.counts.reduce((sum, n, i) => (i === current ? sum : sum + n), 0);
    return total / this.seconds;
  }

  private advance(): void {
    const now = Math.floor(Date.now() / 1000);
    for (let s = Math.max(this.second + 1, now - this.counts.length + 1); s <= now; s++) this.counts[s % this.counts.length] = 0;
    this.second = now;
  }
}

export interface ActionStats {
  action: string;
  count: number;
  /** Calls that did not end ok: failed, timed out, not sent, outcome unknown. */
  failures: number;
  p50_ms: number;
  p99_ms: number;
}

/** Keeps the latest durations of each action; the percentiles are over those. */
const KEPT_PER_ACTION = 256;
/** Actions are named by clients: past this many, the rest are counted as "other". */
const MAX_ACTIONS = 200;
/** What an action name looks like (send_group_msg, .handle_quick_operation, get_status_async). */
const ACTION_NAME = /^[\w.]{1,64}$/;

/** The name an action is counted under: its own, or "other" when it looks odd or MAX_ACTIONS names are known. */
export class ActionNames {
  private readonly known = new Set<string>();

  of(action: string): string {
    if (!this.known.has(action) && this.known.size < MAX_ACTIONS && ACTION_NAME.test(action)) this.known.add(action);
    return this.known.has(action) ? action : 'other';
  }
}

export class CallStats {
  private readonly actions = new Map<string, { count: number; failures: number; durations: number[]; next: number }>();

  record({ action, outcome, ms }: CallRecord): void {
    let entry = this.actions.get(action);
    if (!entry) this.actions.set(action, (entry = { count: 0, failures: 0, durations: [], next: 0 }));
    entry.count++;
    if (outcome !== 'ok') entry.failures++;
    entry.durations[entry.next] = ms;
    entry.next = (entry.next + 1) % KEPT_PER_ACTION;
  }

  snapshot(): ActionStats[] {
    return [...this.actions].map(([action, entry]) => {
      const sorted = [...entry.durations].sort((a, b) => a - b);
      const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
      return { action, count: entry.count, failures: entry.failures, p50_ms: at(0.5), p99_ms: at(0.99) };
    });
  }
}
