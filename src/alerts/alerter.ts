// The relay's alerts: every account watched, each alert handed to the channels that want it (each channel hears
// of a condition after its own grace period, and again every `repeat` while it lasts), the relay's start and
// stop, the test alert, and what the status page shows: current and recent alerts, and each channel's state.
import type { Logger } from '../log.ts';
import {
  type Alert,
  type AlertEvent,
  accountName,
  CONDITION_NAMES,
  CONDITIONS,
  type Condition,
  conditionAlert,
  type EpisodeReport,
  relayAlert,
} from './alert.ts';
import { type ChannelSpec, createChannel } from './channels.ts';
import { type AttemptResult, type ChannelStatus, Delivery } from './delivery.ts';
import { AccountWatch, type Watched } from './watch.ts';

export interface AlerterOptions {
  /** How long a condition must last before it alerts (a channel may set its own), ms. */
  grace: number;
  channels: ChannelSpec[];
}

/** An alert the status page lists: when it was made, and the channels it went to. */
export type RecentAlert = Alert & { channels: string[] };

/** A condition on now: alerted already, or still within its grace period. */
export interface CurrentAlert {
  event: AlertEvent;
  self_id: Alert['self_id'];
  nickname: string | null;
  account: string;
  since: string;
  alerted: boolean;
  detail: string;
  flaps: number;
}

export interface AlertsStatus {
  grace_ms: number;
  current: CurrentAlert[];
  /** Newest first. */
  recent: RecentAlert[];
  channels: ChannelStatus[];
}

const RECENT_KEPT = 50;
/** How long the relay's stop waits for its relay_stop alert to go out, ms. */
const STOP_WAIT_MS = 1000;

interface Listener {
  delivery: Delivery;
  grace: number;
  repeat: number;
}

export class Alerter {
  private listeners: Listener[] = [];
  private specsKey = '';
  private grace: number;
  private readonly watches = new Map<object, AccountWatch>();
  /** Per account, by "grace:condition:channel". */
  private readonly reminders = new Map<object, Map<string, NodeJS.Timeout>>();
  private readonly recent: RecentAlert[] = [];
  private closed = false;

  constructor(
    options: AlerterOptions,
    private readonly log: Logger,
    /** How a channel is built from its settings (a test's own channels). */
    private readonly build: typeof createChannel = createChannel,
  ) {
    this.grace = options.grace;
    this.configure(options);
  }

  /** New settings (a reload): channels are built again if theirs changed; conditions under way carry on. */
  configure(options: AlerterOptions): void {
    this.grace = options.grace;
    const graceOf = (spec: ChannelSpec) => spec.grace ?? options.grace;
    const key = JSON.stringify(options.channels);
    if (key !== this.specsKey) {
      this.specsKey = key;
      this.closeChannels();
      this.listeners = options.channels.map((spec) => ({
        delivery: new Delivery(this.build(spec, this.log), spec, this.log),
        grace: graceOf(spec),
        repeat: spec.repeat,
      }));
    } else {
      // The same channels: those without a grace of their own follow alertGrace, which a reload may change alone.
      this.listeners.forEach((listener, i) => {
        listener.grace = graceOf(options.channels[i]!);
      });
    }
    for (const watch of this.watches.values()) watch.setGraces(this.graces());
  }

  /** An account as it is now (`key`: the account itself). */
  observe(key: object, watched: Watched): void {
    if (this.closed) return;
    const watch = this.watches.get(key);
    if (watch) watch.observe(watched);
    else
      this.watches.set(
        key,
        new AccountWatch(watched, this.graces(), (grace, condition, phase, report) => this.changed(key, grace, condition, phase, report)),
      );
  }

  /** The account is no longer served: its conditions end without a word. */
  forget(key: object): void {
    this.watches.get(key)?.close();
    this.watches.delete(key);
    this.clearReminders(key);
    this.reminders.delete(key);
  }

  relayStarted(text: string): void {
    this.broadcast(relayAlert('relay_start', text));
  }

  /** The relay is stopping: say so, give that alert a moment to go out, and stop every channel. */
  async relayStopping(text: string): Promise<void> {
    this.closed = true; // its accounts closing now say nothing
    this.broadcast(relayAlert('relay_stop', text));
    await Promise.all(this.listeners.map(({ delivery }) => delivery.settle(STOP_WAIT_MS)));
    this.close();
  }

  /** One test alert to every channel, at once; resolves with each channel's result. */
  async test(): Promise<AttemptResult[]> {
    const alert = relayAlert('test', 'This is a test alert from onebot-relay: this channel works.');
    const results = await Promise.all(this.listeners.map(({ delivery }) => delivery.attempt(alert)));
    this.remember(
      alert,
      results.filter((r) => r.ok).map((r) => r.channel),
    );
    return results;
  }

  status(): AlertsStatus {
    const current: CurrentAlert[] = [];
    for (const watch of this.watches.values()) {
      for (const condition of CONDITION_NAMES) {
        const now = watch.episode(this.grace, condition)?.current();
        if (!now) continue;
        const { subject } = watch;
        current.push({
          event: CONDITIONS[condition].start,
          self_id: subject.selfId,
          nickname: subject.nickname,
          account: accountName(subject),
          since: new Date(now.since).toISOString(),
          alerted: now.alerted,
          detail: now.detail,
          flaps: now.flaps,
        });
      }
    }
    return { grace_ms: this.grace, current, recent: [...this.recent], channels: this.listeners.map(({ delivery }) => delivery.status()) };
  }

  close(): void {
    this.closed = true;
    this.closeChannels();
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
  }

  /** alertGrace, and every channel's own. */
  private graces(): number[] {
    return [...new Set([this.grace, ...this.listeners.map((l) => l.grace)])];
  }

  private changed(key: object, grace: number, condition: Condition, phase: 'start' | 'end', report: EpisodeReport): void {
    const watch = this.watches.get(key)!;
    const alert = conditionAlert(condition, phase, watch.subject, report);
    const to = this.listeners.filter((l) => l.grace === grace && l.delivery.wants(alert.event));
    for (const { delivery } of to) delivery.push(alert);
    if (phase === 'start') for (const listener of to.filter((l) => l.repeat > 0)) this.remind(key, listener, condition);
    else this.clearReminders(key, `${grace}:${condition}`);
    // Said once, by the episodes every relay has (alertGrace); a channel's own grace only times its delivery.
    if (grace === this.grace) {
      if (phase === 'start') this.log.warn(`alert ${alert.event}: ${alert.text}`);
      else this.log.info(`alert ${alert.event}: ${alert.text}`);
    }
    if (grace === this.grace || to.length)
      this.remember(
        alert,
        to.map((l) => l.delivery.name),
      );
  }

  /** Tell `listener` again every `repeat` ms while the condition lasts. */
  private remind(key: object, listener: Listener, condition: Condition): void {
    const timers = this.reminders.get(key) ?? new Map<string, NodeJS.Timeout>();
    this.reminders.set(key, timers);
    const id = `${listener.grace}:${condition}:${this.listeners.indexOf(listener)}`;
    clearTimeout(timers.get(id));
    timers.set(
      id,
      setTimeout(() => {
        timers.delete(id);
        const watch = this.watches.get(key);
        const episode = watch?.episode(listener.grace, condition);
        if (!watch || !episode?.lasting) return; // ended, or clearing: its recovery will be told
        const alert = conditionAlert(condition, 'start', watch.subject, episode.current()!, Date.now(), true);
        listener.delivery.push(alert);
        this.remember(alert, [listener.delivery.name]);
        this.remind(key, listener, condition);
      }, listener.repeat),
    );
  }

  /** Stop the reminders of an account: all of them, or those of one episode ("grace:condition"). */
  private clearReminders(key: object, episode?: string): void {
    const timers = this.reminders.get(key);
    for (const [id, timer] of timers ?? []) {
      if (episode !== undefined && !id.startsWith(`${episode}:`)) continue;
      clearTimeout(timer);
      timers!.delete(id);
    }
  }

  private broadcast(alert: Alert): void {
    const to = this.listeners.filter((l) => l.delivery.wants(alert.event));
    for (const { delivery } of to) delivery.push(alert);
    this.remember(
      alert,
      to.map((l) => l.delivery.name),
    );
  }

  private remember(alert: Alert, channels: string[]): void {
    this.recent.unshift({ ...alert, channels });
    this.recent.length = Math.min(this.recent.length, RECENT_KEPT);
  }

  private closeChannels(): void {
    for (const key of this.reminders.keys()) this.clearReminders(key);
    for (const { delivery } of this.listeners) delivery.close();
  }
}
