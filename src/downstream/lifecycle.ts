// What the relay itself tells one client about the account it serves it: lifecycle when serving begins and
// ends, and heartbeats between that say how the account's link is now.
import type { Accounts } from '../hub.ts';
import { heartbeat, lifecycle, type SelfId } from '../onebot.ts';

/** Where the client's meta events go: a WebSocket sends both at once; HTTP POST queues lifecycle, posts heartbeats only when idle. */
export interface MetaSink {
  lifecycle(event: string): void;
  heartbeat(event: string): void;
}

export class ClientLifecycle {
  private selfId: SelfId | undefined;
  private beats: NodeJS.Timeout | undefined;
  private stopListening: () => void = () => {};

  constructor(
    private readonly accounts: Pick<Accounts, 'linkStatus' | 'onStatusChange'>,
    /** Heartbeat interval, ms; 0: none. */
    private readonly interval: number,
    private readonly sink: MetaSink,
  ) {}

  /** Serving account `selfId` begins: lifecycle `subType` (connect over WebSocket, enable over HTTP POST), then heartbeats. */
  begin(selfId: SelfId, subType: 'connect' | 'enable'): void {
    this.stopListening();
    clearInterval(this.beats);
    this.selfId = selfId;
    this.sink.lifecycle(lifecycle(selfId, subType));
    if (this.interval <= 0) return;
    this.beatEvery(selfId);
    // Readiness at once: a framework marks the bot not ready / ready on these, so it hears of a change now,
    // not at the next beat; then the regular interval starts again.
    this.stopListening = this.accounts.onStatusChange(selfId, () => {
      this.sink.heartbeat(this.heartbeat(selfId));
      this.beatEvery(selfId);
    });
  }

  private beatEvery(selfId: SelfId): void {
    clearInterval(this.beats);
    this.beats = setInterval(() => this.sink.heartbeat(this.heartbeat(selfId)), this.interval);
  }

  private heartbeat(selfId: SelfId): string {
    return heartbeat(selfId, this.accounts.linkStatus(selfId), this.interval);
  }

  /** Serving ends: no more heartbeats. Returns the lifecycle disable to part with, when serving had begun. */
  end(): string | undefined {
    this.stopListening();
    clearInterval(this.beats);
    this.beats = undefined;
    return this.selfId === undefined ? undefined : lifecycle(this.selfId, 'disable');
  }
}
