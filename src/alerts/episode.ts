// One condition of one account over time, debounced: it alerts once it has lasted the grace period, or once it
// has begun FLAPS times with each gap shorter than the grace (flapping), and then once more when it has stayed
// clear for the grace period. A blip shorter than the grace says nothing. WebSockets cannot tell which side
// closed, so mails came in bursts (nonebot_plugin_disconnect_notice#11); SnowLuma debounces 30 s.
import type { EpisodeReport } from './alert.ts';

/** This many beginnings within one episode alert as flapping, however short each was. */
export const FLAPS = 3;

export interface EpisodeListener {
  /** The condition has lasted the grace period, or flaps. */
  began(report: EpisodeReport): void;
  /** It has stayed clear for the grace period after it began (`report.until`: when it cleared). */
  ended(report: EpisodeReport): void;
}

type State = 'idle' | 'pending' | 'settling' | 'alerted' | 'recovering';

export class Episode {
  private state: State = 'idle';
  private since = 0;
  private clearedAt = 0;
  private flaps = 0;
  private detail = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly grace: number,
    private readonly listener: EpisodeListener,
  ) {}

  /** It began and has not yet ended (the alert about it went out). */
  get alerted(): boolean {
    return this.state === 'alerted' || this.state === 'recovering';
  }

  /** It began and the condition is on now (not clearing). */
  get lasting(): boolean {
    return this.state === 'alerted';
  }

  /** The condition now, on or off; `detail` says why it is on. */
  set(active: boolean, detail = ''): void {
    if (active && detail) this.detail = detail;
    const now = Date.now();
    switch (this.state) {
      case 'idle':
        if (!active) return;
        this.since = now;
        this.flaps = 1;
        this.pending();
        return;
      case 'pending':
        if (active) return;
        this.clearedAt = now;
        this.state = 'settling';
        this.after(() => (this.state = 'idle'));
        return;
      case 'settling':
        if (!active) return;
        this.flaps++;
        if (this.flaps >= FLAPS) this.begin();
        else this.pending();
        return;
      case 'alerted':
        if (active) return;
        this.clearedAt = now;
        this.state = 'recovering';
        this.after(() => {
          this.state = 'idle';
          this.listener.ended(this.report(this.clearedAt));
        });
        return;
      case 'recovering':
        if (!active) return;
        this.flaps++;
        clearTimeout(this.timer);
        this.state = 'alerted';
        return;
    }
  }

  /** What it is now, for the status page: since when, and whether it has alerted yet. */
  current(): (EpisodeReport & { alerted: boolean }) | undefined {
    if (this.state === 'idle' || this.state === 'settling') return undefined;
    return { ...this.report(), alerted: this.alerted };
  }

  /** Forget it without a word (its account is no longer served). */
  close(): void {
    clearTimeout(this.timer);
    this.state = 'idle';
  }

  private pending(): void {
    this.state = 'pending';
    this.after(() => this.begin());
  }

  private begin(): void {
    clearTimeout(this.timer);
    this.state = 'alerted';
    this.listener.began(this.report());
  }

  private after(then: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(then, this.grace);
  }

  private report(until?: number): EpisodeReport {
    return { since: this.since, flaps: this.flaps, detail: this.detail, ...(until === undefined ? {} : { until }) };
  }
}
