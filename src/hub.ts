// The relay's core: owns the upstream link, fans events out to adapters, routes calls, knows the bot's identity.
import * as v from 'valibot';
import { type CallOptions, type CallRecord, CallRouter } from './calls.ts';
import type { Adapter } from './downstream/adapter.ts';
import { HealthWatch } from './health.ts';
import type { Logger } from './log.ts';
import { EventFrame, isJsonObject, RelayRetcode, ReplyFrame, type SelfId } from './onebot.ts';
import { ActionNames, CallStats, RateMeter } from './stats.ts';
import { HeartbeatWatchdog } from './upstream/heartbeat-watchdog.ts';
import type { LinkDown, Upstream, UpstreamSink } from './upstream/upstream.ts';

export interface HubOptions extends CallOptions {
  /** How long a probe of a silent implementation may take, ms. */
  probeTimeout: number;
  /** Ask get_status this often while the link is up, ms (0: never). */
  healthProbe: number;
  /** This many send_* calls in a row that fail or time out make the bot degraded. */
  unhealthyAfter: number;
}

export type LinkState = 'connecting' | 'up' | 'down';

export interface Health {
  /** degraded: the link is up but the bot is not working (see reasons). */
  status: 'up' | 'degraded' | 'down';
  /** Every reason, joined. */
  reason?: string;
  reasons: string[];
  link: {
    state: LinkState;
    target: string;
    since: string;
    last_down?: LinkDown;
    last_heartbeat_age_ms: number | null;
    /** The interval the implementation announced in its heartbeats (0: it sends none). */
    heartbeat_interval_ms: number;
  };
  self_id: SelfId | null;
  nickname: string | null;
  clients: number;
  reconnects: number;
  pending_calls: number;
  uptime_s: number;
}

export class Hub implements UpstreamSink {
  private link: Upstream;
  readonly calls: CallRouter;
  private readonly adapters = new Set<Adapter>();
  private readonly identityWaiters = new Set<() => void>();
  private readonly watchdog: HeartbeatWatchdog;
  private readonly startedAt = Date.now();
  private state: LinkState = 'connecting';
  private stateSince = Date.now();
  private lastDown: LinkDown | undefined;
  private everUp = false;
  private reconnects = 0;
  private heartbeatInterval = 0;
  private lastHeartbeat: number | undefined;
  private healthProbe: NodeJS.Timeout | undefined;
  private readonly watch: HealthWatch;
  /** Every upstream event received. */
  eventsReceived = 0;
  readonly rates = { events: new RateMeter(), calls: new RateMeter() };
  readonly callStats = new CallStats();
  private readonly actionNames = new ActionNames();
  /** Told of every client call that finishes (metrics). */
  readonly callListeners = new Set<(record: CallRecord) => void>();
  selfId: SelfId | undefined;
  nickname: string | undefined;

  constructor(
    makeUpstream: (sink: UpstreamSink) => Upstream,
    private readonly options: HubOptions,
    private readonly log: Logger,
  ) {
    this.link = makeUpstream(this);
    this.watch = new HealthWatch(options.unhealthyAfter);
    const link = { isUp: () => this.state === 'up', send: (text: string) => this.link.send(text) };
    this.calls = new CallRouter(link, options, log.child('calls'), (record) => this.callFinished(record));
    this.watchdog = new HeartbeatWatchdog(() => void this.probe());
  }

  get upstream(): Upstream {
    return this.link;
  }

  /** Settings changed: drop the old link (its calls in flight fail) and bring up the new one. */
  async replaceUpstream(makeUpstream: (sink: UpstreamSink) => Upstream): Promise<void> {
    await this.link.stop('upstream settings changed');
    if (this.state === 'up') this.linkDown({ by: 'relay', reason: 'closed by the relay: upstream settings changed' });
    this.setState('connecting');
    this.link = makeUpstream(this);
    await this.link.start();
  }

  /** New call timeouts, hold, rate limit and health settings take effect from now on. */
  configure(options: HubOptions): void {
    Object.assign(this.options, options);
    this.watch.sendFailures = options.unhealthyAfter;
  }

  add(adapter: Adapter): void {
    this.adapters.add(adapter);
  }

  remove(adapter: Adapter): void {
    this.adapters.delete(adapter);
  }

  /** Run `then` once the bot's self_id is known (at once if it is). Returns a function that cancels it. */
  whenIdentified(then: () => void): () => void {
    if (this.selfId !== undefined) {
      then();
      return () => {};
    }
    this.identityWaiters.add(then);
    return () => this.identityWaiters.delete(then);
  }

  /** What relay heartbeats tell clients: the implementation's last report, and false while the link is down. */
  linkStatus(): { online: boolean; good: boolean } {
    if (this.state !== 'up') return { online: false, good: false };
    return { ...this.watch.reported };
  }

  linkUp(selfId?: SelfId): void {
    this.learnSelfId(selfId);
    if (this.everUp) this.reconnects++;
    this.everUp = true;
    this.setState('up');
    this.calls.linkUp();
    void this.fetchLoginInfo();
    this.scheduleHealthProbe();
  }

  linkDown(down: LinkDown): void {
    this.lastDown = { ...down, at: new Date().toISOString() };
    this.setState('down');
    this.watchdog.stop();
    clearTimeout(this.healthProbe);
    this.watch.reset();
    this.calls.linkDown();
  }

  callsLost(): void {
    this.calls.linkDown();
  }

  frame(text: string): boolean {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.log.warn(`upstream sent a frame that is not JSON (${text.length} chars); ignored`);
      return false;
    }
    if (isJsonObject(frame) && 'post_type' in frame) this.event(text, v.parse(EventFrame, frame));
    else if (isJsonObject(frame) && v.is(ReplyFrame, frame)) this.calls.reply(frame);
    else {
      this.log.warn('upstream sent a frame that is neither an event nor a reply; ignored');
      return false;
    }
    return true;
  }

  health(): Health {
    const reasons = this.state === 'up' ? this.watch.reasons() : [this.downReason()];
    return {
      status: this.state !== 'up' ? 'down' : reasons.length ? 'degraded' : 'up',
      ...(reasons.length ? { reason: reasons.join('; ') } : {}),
      reasons,
      link: {
        state: this.state,
        target: this.link.target,
        since: new Date(this.stateSince).toISOString(),
        last_down: this.lastDown,
        last_heartbeat_age_ms: this.lastHeartbeat === undefined ? null : Date.now() - this.lastHeartbeat,
        heartbeat_interval_ms: this.heartbeatInterval,
      },
      self_id: this.selfId ?? null,
      nickname: this.nickname ?? null,
      clients: [...this.adapters].flatMap((a) => a.clients()).filter((c) => c.connected).length,
      reconnects: this.reconnects,
      pending_calls: this.calls.pending,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  private downReason(): string {
    const trying = this.link.problem ? `; cannot reach ${this.link.target}: ${this.link.problem}` : '';
    if (this.lastDown) return `${this.lastDown.reason}${trying}`;
    return this.link.problem ? `never connected${trying}` : `waiting for ${this.link.target}`;
  }

  async stop(): Promise<void> {
    this.watchdog.stop();
    clearTimeout(this.healthProbe);
    await Promise.all([...this.adapters].map((a) => a.close()));
    await this.link.stop();
    this.calls.close();
  }

  private event(text: string, event: EventFrame): void {
    this.eventsReceived++;
    this.rates.events.mark();
    this.learnSelfId(event.self_id);
    if (event.post_type === 'meta_event') {
      // The relay makes its own heartbeats and lifecycle events for each client.
      if (event.meta_event_type === 'heartbeat') this.heartbeat(event);
      if (event.meta_event_type === 'heartbeat' || event.meta_event_type === 'lifecycle') return;
    }
    for (const adapter of this.adapters) adapter.deliver(text);
  }

  private heartbeat(event: EventFrame): void {
    this.lastHeartbeat = Date.now();
    this.watch.report(event.status);
    if (event.interval) this.heartbeatInterval = event.interval;
    this.watchdog.beat(this.heartbeatInterval);
  }

  /** Two heartbeats missed: ask get_status; no answer means the link is dead. */
  private async probe(): Promise<void> {
    if (this.state !== 'up') return;
    this.log.warn(`upstream missed two heartbeats (interval ${this.heartbeatInterval} ms); probing with get_status`);
    if (!(await this.askStatus())) this.link.kill(`two heartbeats missed and get_status unanswered within ${this.options.probeTimeout} ms`);
    else if (this.state === 'up') this.watchdog.beat(this.heartbeatInterval);
  }

  /** Now and then, ask the implementation how it is: it may be connected yet offline or stuck. */
  private scheduleHealthProbe(): void {
    clearTimeout(this.healthProbe);
    if (this.options.healthProbe <= 0) return;
    this.healthProbe = setTimeout(async () => {
      await this.askStatus();
      if (this.state === 'up') this.scheduleHealthProbe();
    }, this.options.healthProbe);
  }

  /** get_status, its answer told to the health watch; false: no answer within the probe timeout. */
  private async askStatus(): Promise<boolean> {
    const reply = await this.calls.request('get_status', {}, this.options.probeTimeout);
    const answered = reply.retcode !== RelayRetcode.timeout;
    if (this.state !== 'up') return answered;
    this.watch.probed(answered);
    if (reply.status === 'ok') this.watch.report(reply.data);
    return answered;
  }

  /** Client calls as statistics, health and metrics see them (with a bounded set of action names). */
  private callFinished(finished: CallRecord): void {
    const record = { ...finished, action: this.actionNames.of(finished.action) };
    this.rates.calls.mark();
    this.callStats.record(record);
    this.watch.call(finished); // by its real name: a send_* counted as "other" is still a send
    for (const listener of this.callListeners) listener(record);
  }

  private async fetchLoginInfo(): Promise<void> {
    const reply = await this.calls.request('get_login_info', {});
    const data = reply.data as { user_id?: SelfId; nickname?: string } | null | undefined;
    if (reply.status === 'ok' && data?.user_id !== undefined) {
      this.nickname = data.nickname;
      this.learnSelfId(data.user_id);
    } else {
      this.log.warn(`get_login_info failed (${String(reply.message ?? reply.retcode)}); self_id will come from the first event`);
    }
  }

  private learnSelfId(id: SelfId | undefined): void {
    if (id === undefined || id === this.selfId) return;
    if (this.selfId !== undefined) this.log.warn(`self_id changed from ${this.selfId} to ${id}`);
    else this.log.info(`bot self_id is ${id}`);
    this.selfId = id;
    const waiters = [...this.identityWaiters];
    this.identityWaiters.clear();
    for (const then of waiters) then();
  }

  private setState(state: LinkState): void {
    this.state = state;
    this.stateSince = Date.now();
  }
}
