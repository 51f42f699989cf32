// What the relay itself tells one client about the account it serves it: lifecycle when serving begins and
// ends, and heartbeats between that say how the account's link is now. The clients of one account with one
// interval share a beat: one timer and one status subscription for all of them, not one per client.
import type { Accounts } from '../hub.ts';
import { heartbeat, lifecycle, type SelfId } from '../onebot.ts';

/** Where the client's meta events go: a WebSocket sends both at once; HTTP POST queues lifecycle, posts heartbeats only when idle. */
export interface MetaSink {
  lifecycle(event: string): void;
  heartbeat(event: string): void;
}

type LinkStatus = Pick<Accounts, 'linkStatus' | 'onStatusChange'>;

/** The clients one account is served to with one interval: each beat is made once and told to them all. */
class Beat {
  readonly sinks = new Set<MetaSink>();
  private timer: NodeJS.Timeout;
  private readonly stopListening: () => void;

  constructor(
    private readonly accounts: LinkStatus,
    private readonly selfId: SelfId,
    private readonly interval: number,
  ) {
    this.timer = setInterval(() => this.beat(), interval);
    // Readiness at once: a framework marks the bot not ready / ready on these, so it hears of a change now,
    // not at the next beat; then the regular interval starts again.
    this.stopListening = accounts.onStatusChange(selfId, () => {
      clearInterval(this.timer);
      this.beat();
      // A client that could not take the beat may have left, the last one: then the beat has stopped.
      if (this.sinks.size) this.timer = setInterval(() => this.beat(), interval);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopListening();
  }

  private beat(): void {
    const event = heartbeat(this.selfId, this.accounts.linkStatus(this.selfId), this.interval);
    for (const sink of this.sinks) sink.heartbeat(event);
  }
}

/** The beats going on, by account (its Accounts, then self_id and interval). */
const beats = new WeakMap<LinkStatus, Map<string, Beat>>();

function beatKey(selfId: SelfId, interval: number): string {
  return `${selfId} ${interval}`;
}

export class ClientLifecycle {
  private selfId: SelfId | undefined;
  /** The beat it hears, while serving goes on. */
  private beat: Beat | undefined;

  constructor(
    private readonly accounts: LinkStatus,
    /** Heartbeat interval, ms; 0: none. */
    private readonly interval: number,
    private readonly sink: MetaSink,
  ) {}

  /** Serving account `selfId` begins: lifecycle `subType` (connect over WebSocket, enable over HTTP POST), then heartbeats. */
  begin(selfId: SelfId, subType: 'connect' | 'enable'): void {
    this.leave();
    this.selfId = selfId;
    this.sink.lifecycle(lifecycle(selfId, subType));
    if (this.interval <= 0) return;
    let ofAccounts = beats.get(this.accounts);
    if (!ofAccounts) {
      ofAccounts = new Map();
      beats.set(this.accounts, ofAccounts);
    }
    const key = beatKey(selfId, this.interval);
    let beat = ofAccounts.get(key);
    if (!beat) {
      beat = new Beat(this.accounts, selfId, this.interval);
      ofAccounts.set(key, beat);
    }
    beat.sinks.add(this.sink);
    this.beat = beat;
  }

  /** Serving ends: no more heartbeats. Returns the lifecycle disable to part with, when serving had begun. */
  end(): string | undefined {
    this.leave();
    return this.selfId === undefined ? undefined : lifecycle(this.selfId, 'disable');
  }

  private leave(): void {
    const beat = this.beat;
    if (!beat) return;
    this.beat = undefined;
    beat.sinks.delete(this.sink);
    if (beat.sinks.size) return;
    beat.stop();
    beats.get(this.accounts)?.delete(beatKey(this.selfId!, this.interval));
  }
}
