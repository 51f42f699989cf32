// Is the bot really working? The link can be up while the QQ account is offline (NapCatQQ#2049), while the
// implementation cannot send (NapCatQQ#869, #1255), or while QQ's risk control swallows what it sends (#788).
import { type CallRecord, isSend } from './calls.ts';
import { riskControlSign } from './risk-control.ts';

/** What is wrong with the bot, each on its own (an alert watches each); none: it works. */
export interface Conditions {
  /** Why the QQ account is offline. */
  offline?: string;
  /** Why it is up but not working. */
  degraded?: string;
  /** Why it looks risk-controlled. */
  riskControl?: string;
}

const OFFLINE_REPORTED = 'the implementation reports online: false (the QQ account is offline)';

export class HealthWatch {
  /** What the implementation last said of itself (heartbeat status, get_status, bot_offline). */
  reported = { online: true, good: true };
  private offlineWhy = OFFLINE_REPORTED;
  private failedSends = 0;
  private lastSendFailure = '';
  private riskControl: string | undefined;
  private probeUnanswered = false;

  /** `sendFailures`: this many send_* calls in a row that fail or time out make the bot degraded. */
  constructor(public sendFailures: number) {}

  call({ action, outcome, message }: CallRecord): void {
    if (!isSend(action) || outcome === 'not_connected' || outcome === 'unknown' || outcome === 'limited') return; // says nothing of the implementation itself
    if (outcome === 'ok') {
      this.failedSends = 0;
      this.riskControl = undefined;
      return;
    }
    this.failedSends++;
    this.lastSendFailure = `${action} ${outcome === 'failed' ? 'failed' : 'timed out'}`;
    const sign = riskControlSign(message);
    if (sign) this.riskControl = `${action} failed: ${sign} (${oneLine(message!)})`;
  }

  /** A heartbeat's `status`, or get_status's `data`. */
  report(status: unknown): void {
    if (typeof status !== 'object' || status === null) return;
    const { online, good } = status as { online?: unknown; good?: unknown };
    if (online === false && this.reported.online) this.offlineWhy = OFFLINE_REPORTED;
    this.reported = { online: online !== false, good: good !== false };
  }

  /** The implementation said the account was kicked off (NapCat's and Lagrange's `bot_offline` notice). */
  wentOffline(tag: string, message: string): void {
    this.reported = { ...this.reported, online: false };
    this.offlineWhy = `the QQ account went offline: bot_offline notice${tag ? `, tag "${tag}"` : ''}${message ? `, message "${message}"` : ''}`;
  }

  /** Lagrange's `bot_online` notice. */
  cameOnline(): void {
    this.reported = { ...this.reported, online: true };
  }

  /** Whether the last get_status got an answer: heartbeats alone do not show that calls are answered. */
  probed(answered: boolean): void {
    this.probeUnanswered = !answered;
  }

  conditions(): Conditions {
    const degraded = this.degradedReasons();
    return {
      ...(this.reported.online ? {} : { offline: this.offlineWhy }),
      ...(degraded.length ? { degraded: degraded.join('; ') } : {}),
      ...(this.riskControl ? { riskControl: this.riskReason() } : {}),
    };
  }

  /** Why the bot is degraded; none: healthy. */
  reasons(): string[] {
    return [
      ...(this.reported.online ? [] : [this.offlineWhy]),
      ...this.degradedReasons(),
      ...(this.riskControl ? [this.riskReason()] : []),
    ];
  }

  private degradedReasons(): string[] {
    const reasons: string[] = [];
    if (!this.reported.good) reasons.push('the implementation reports good: false');
    if (this.probeUnanswered) reasons.push('the implementation did not answer the last get_status probe');
    if (this.failedSends >= this.sendFailures) {
      reasons.push(
        `${this.failedSends} send calls in a row failed or timed out (last: ${this.lastSendFailure}); the implementation may be up but unable to send`,
      );
    }
    return reasons;
  }

  private riskReason(): string {
    return `suspected risk control: ${this.riskControl}`;
  }

  /** The link went down: what the implementation said and did before no longer holds (it may be restarting). */
  reset(): void {
    this.reported = { online: true, good: true };
    this.probeUnanswered = false;
    this.failedSends = 0;
    this.riskControl = undefined;
  }
}

/** A message on one line, at most 200 characters (NapCat's carry a JSON dump over several lines). */
function oneLine(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
