// Is the bot really working? The link can be up while the implementation cannot send (NapCatQQ#869, #1255).
import { type CallRecord, isSend } from './calls.ts';

export class HealthWatch {
  /** What the implementation last said of itself (heartbeat status or get_status). */
  reported = { online: true, good: true };
  private failedSends = 0;
  private lastSendFailure = '';
  private probeUnanswered = false;

  /** `sendFailures`: this many send_* calls in a row that fail or time out make the bot degraded. */
  constructor(public sendFailures: number) {}

  call({ action, outcome }: CallRecord): void {
    if (!isSend(action) || outcome === 'not_connected' || outcome === 'unknown' || outcome === 'limited') return; // says nothing of the implementation itself
    if (outcome === 'ok') {
      this.failedSends = 0;
      return;
    }
    this.failedSends++;
    this.lastSendFailure = `${action} ${outcome === 'failed' ? 'failed' : 'timed out'}`;
  }

  /** A heartbeat's `status`, or get_status's `data`. */
  report(status: unknown): void {
    if (typeof status !== 'object' || status === null) return;
    const { online, good } = status as { online?: unknown; good?: unknown };
    this.reported = { online: online !== false, good: good !== false };
  }

  /** Whether the last get_status got an answer: heartbeats alone do not show that calls are answered. */
  probed(answered: boolean): void {
    this.probeUnanswered = !answered;
  }

  /** Why the bot is degraded; none: healthy. */
  reasons(): string[] {
    const reasons: string[] = [];
    if (!this.reported.online) reasons.push('the implementation reports online: false (the QQ account is offline)');
    if (!this.reported.good) reasons.push('the implementation reports good: false');
    if (this.probeUnanswered) reasons.push('the implementation did not answer the last get_status probe');
    if (this.failedSends >= this.sendFailures) {
      reasons.push(
        `${this.failedSends} send calls in a row failed or timed out (last: ${this.lastSendFailure}); the implementation may be up but unable to send`,
      );
    }
    return reasons;
  }

  /** The link went down: what the implementation said and did before no longer holds (it may be restarting). */
  reset(): void {
    this.reported = { online: true, good: true };
    this.probeUnanswered = false;
    this.failedSends = 0;
  }
}
