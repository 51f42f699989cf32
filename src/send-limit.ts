// Send limits: "at most COUNT sends in any window of DURATION", per account, per group and per private peer,
// and which limits a call comes under. Sends that go out too fast get an account restricted (NapCatQQ#788, #1658).
import type { ActionRequest } from './onebot.ts';

/** At most `count` in any window of `per` ms. */
export interface Rate {
  count: number;
  per: number;
}

export type LimitScope = 'account' | 'group' | 'private';

export interface SendLimits {
  /** Undefined: that scope is not limited. */
  account?: Rate;
  group?: Rate;
  private?: Rate;
  /** Over a limit: wait for a turn (answered once really sent), or be answered at once with retcode 1429. */
  overflow: 'queue' | 'reject';
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const RATE = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$/;

/** "20/60s", "5/10s", "1/500ms", "30/m": undefined when it is not one. */
export function parseRate(text: string): Rate | undefined {
  const match = RATE.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  const per = Math.round(Number(match[2] ?? 1) * UNITS[match[3]!]!);
  return count >= 1 && per >= 1 ? { count, per } : undefined;
}

/** "5/10s" again, for messages and the status page. */
export function formatRate({ count, per }: Rate): string {
  const [n, unit] =
    per % 3_600_000 === 0
      ? [per / 3_600_000, 'h']
      : per % 60_000 === 0
        ? [per / 60_000, 'm']
        : per % 1000 === 0
          ? [per / 1000, 's']
          : [per, 'ms'];
  return `${count}/${n}${unit}`;
}

/** The limit keys of a send_* call: "account", and "group:ID" or "private:ID" when it names a conversation. */
export function limitKeys(request: ActionRequest): string[] {
  const params = request.params ?? {};
  const group = params.group_id;
  const user = params.user_id;
  const kind =
    params.message_type === 'group' || params.message_type === 'private'
      ? params.message_type
      : request.action.includes('private')
        ? 'private'
        : request.action.includes('group') || group !== undefined
          ? 'group'
          : 'private';
  const peer = kind === 'group' ? group : user;
  return peer === undefined || peer === null ? ['account'] : ['account', `${kind}:${String(peer)}`];
}

/** What a limit key stands for, for messages: "this account", "group 123456", "user 10001". */
export function describeKey(key: string): string {
  if (key === 'account') return 'this account';
  const [scope, id] = key.split(':');
  return `${scope === 'private' ? 'user' : 'group'} ${id}`;
}

/** The scope of a limit key. */
export function scopeOf(key: string): LimitScope {
  return key === 'account' ? 'account' : (key.split(':')[0] as LimitScope);
}

/** The last sends under one key, oldest first: enough to tell when the next may go. */
export class SlidingWindow {
  private readonly times: number[] = [];

  /** When the next send may go under `rate`: -Infinity when it may now. */
  freeAt({ count, per }: Rate): number {
    return this.times.length < count ? -Infinity : this.times[this.times.length - count]! + per;
  }

  record(at: number, { count }: Rate): void {
    this.times.push(at);
    if (this.times.length > count) this.times.splice(0, this.times.length - count);
  }

  /** Nothing sent within the last `per` ms: it can be forgotten. */
  idle(now: number, { per }: Rate): boolean {
    return this.times.length === 0 || this.times[this.times.length - 1]! + per <= now;
  }
}
