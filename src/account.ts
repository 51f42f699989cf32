// One QQ account as the relay serves it: the link that carries it, its identity, its calls and its health.
// A link reports here (it is the link's sink); the hub hears of identities and events through `AccountHost`.
import type { Watched } from './alerts/watch.ts';
import { type CallOptions, type CallRecord, CallRouter, type SendStats } from './calls.ts';
import { HealthWatch } from './health.ts';
import { type ReadJson, readJson } from './json-text.ts';
import type { Logger } from './log.ts';
import { type EventFrame, isJsonObject, isReplyFrame, RelayRetcode, readEvent, type SelfId } from './onebot.ts';
import { EventCopy } from './profile/profile.ts';
import { RateMeter } from './stats.ts';
import { HeartbeatWatchdog } from './upstream/heartbeat-watchdog.ts';
import type { LinkDown, LinkPort, UpstreamSink } from './upstream/upstream.ts';

export interface AccountOptions extends CallOptions {
  /** How long a probe of a silent implementation may take, ms. */
  probeTimeout: number;
  /** Ask get_status this often while the link is up, ms (0: never). */
  healthProbe: number;
  /** This many send_* calls in a row that fail or time out make the bot degraded. */
  unhealthyAfter: number;
}

export type LinkState = 'connecting' | 'up' | 'down';

/** An event as read (see readJson): its JSON is an object. */
export type ReadEvent = ReadJson & { json: Record<string, unknown> };

/** What an account tells the hub. */
export interface AccountHost {
  /** It learned (or changed) its self_id. */
  identified(account: Account, previous: SelfId | undefined): void;
  /** Its link came up, went down or is being replaced, or the implementation reported on the QQ account. */
  stateChanged(account: Account): void;
  /** The implementation said something of the QQ account (a bot_offline notice): its alerts look now. */
  healthChanged(account: Account): void;
  /**
   * An event from its implementation, as received (not a heartbeat or lifecycle: the relay makes its own), and its
   * JSON: all of it, or when `complete` is false a large event's skeleton (see readJson), enough to route it.
   */
  event(account: Account, event: EventCopy, read: ReadEvent): void;
  /** A client call finished (statistics, health, metrics). */
  callFinished(record: CallRecord): void;
}

export interface AccountHealth {
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
  /** What the implementation last said of the QQ account (false while the link is down). */
  online: boolean;
  good: boolean;
  /** Its clients connected now (the hub counts them). */
  clients: number;
  reconnects: number;
  pending_calls: number;
  events_received: number;
  events_per_s: number;
  calls_per_s: number;
  /** Sends per minute, waiting under the send limits, delayed and refused by them. */
  sends: SendStats;
}

export class Account implements UpstreamSink {
  readonly calls: CallRouter;
  private readonly watchdog: HeartbeatWatchdog;
  private readonly watch: HealthWatch;
  private state: LinkState = 'connecting';
  private stateSince = Date.now();
  private lastDown: LinkDown | undefined;
  private everUp = false;
  private reconnects = 0;
  private heartbeatInterval = 0;
  private lastHeartbeat: number | undefined;
  private healthProbe: NodeJS.Timeout | undefined;
  /** Every upstream event received. */
  eventsReceived = 0;
  readonly rates = { events: new RateMeter(), calls: new RateMeter() };
  selfId: SelfId | undefined;
  nickname: string | undefined;

  constructor(
    /** The link that carries it now; a reload may give it another. */
    public link: LinkPort,
    private readonly options: AccountOptions,
    private readonly host: AccountHost,
    private readonly log: Logger,
    selfId?: SelfId,
  ) {
    this.selfId = selfId;
    this.watch = new HealthWatch(options.unhealthyAfter);
    const callLink = { isUp: () => this.state === 'up', send: (frame: string | Buffer) => this.link.send(frame) };
    this.calls = new CallRouter(callLink, options, log.child('calls'), (record) => this.callFinished(record));
    this.watchdog = new HeartbeatWatchdog(() => void this.probe());
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Its link is up and its QQ account online (as the implementation last said): it can answer. */
  get canAnswer(): boolean {
    return this.state === 'up' && this.watch.reported.online;
  }

  /** The heartbeat interval its implementation announced, ms (0: none yet). */
  get heartbeatEvery(): number {
    return this.heartbeatInterval;
  }

  /** New call timeouts, hold, rate limit and health settings take effect from now on. */
  configure(options: AccountOptions): void {
    Object.assign(this.options, options);
    this.watch.sendFailures = options.unhealthyAfter;
    this.calls.reconfigured();
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

  frame(data: Buffer, handle = (work: () => void) => work()): boolean {
    let read: ReadJson;
    try {
      read = readJson(data, true); // events are compared (the duplicate filter)
    } catch {
      this.log.warn(`upstream sent a frame that is not JSON (${data.length} bytes); ignored`);
      return false;
    }
    const frame = read.json;
    if (isJsonObject(frame) && 'post_type' in frame) handle(() => this.event(data, { ...read, json: frame }));
    else if (isJsonObject(frame) && isReplyFrame(frame)) this.calls.reply(frame, read.complete ? undefined : data);
    else {
      this.log.warn('upstream sent a frame that is neither an event nor a reply; ignored');
      return false;
    }
    return true;
  }

  /** What its alerts watch. */
  watched(): Watched {
    const subject = { selfId: this.selfId ?? null, nickname: this.nickname ?? null, target: this.link.target };
    if (this.state !== 'up') return { subject, linkDown: this.downReason() };
    const { offline, degraded, riskControl } = this.watch.conditions();
    return { subject, qqOffline: offline, degraded, riskControl };
  }

  health(): AccountHealth {
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
      ...this.linkStatus(),
      clients: 0,
      reconnects: this.reconnects,
      pending_calls: this.calls.pending,
      events_received: this.eventsReceived,
      events_per_s: this.rates.events.perSecond(),
      calls_per_s: this.rates.calls.perSecond(),
      sends: this.calls.sendStats(),
    };
  }

  /** Its link is being replaced (a reload): what was in flight on the old one fails, the new one comes up on its own. */
  relink(link: LinkPort): void {
    if (this.state === 'up') this.linkDown({ by: 'relay', reason: 'closed by the relay: upstream settings changed' });
    this.setState('connecting');
    this.link = link;
  }

  /** No longer served (its upstream was removed, or the relay stops): everything still waiting fails. */
  close(): void {
    this.watchdog.stop();
    clearTimeout(this.healthProbe);
    this.calls.close();
  }

  private downReason(): string {
    const trying = this.link.problem ? `; cannot reach ${this.link.target}: ${this.link.problem}` : '';
    if (this.lastDown) return `${this.lastDown.reason}${trying}`;
    return this.link.problem ? `never connected${trying}` : `waiting for ${this.link.target}`;
  }

  private event(data: Buffer, read: ReadEvent): void {
    const event = readEvent(read.json);
    this.eventsReceived++;
    this.rates.events.mark();
    this.learnSelfId(event.self_id);
    if (event.post_type === 'meta_event') {
      // The relay makes its own heartbeats and lifecycle events for each client.
      if (event.meta_event_type === 'heartbeat') this.heartbeat(event);
      if (event.meta_event_type === 'heartbeat' || event.meta_event_type === 'lifecycle') return;
    }
    if (event.post_type === 'notice') this.notice(event);
    this.host.event(this, new EventCopy(data), read);
  }

  /**
   * The QQ account kicked off or back: NapCat's `notice_type: "bot_offline"` (with `tag` and `message`), Lagrange's
   * `notice_type: "bot_offline"` or `"notify"` with `sub_type: "bot_offline"`, and Lagrange's `bot_online`. LLBot
   * has no such notice: its heartbeats and get_status say online: false.
   */
  private notice(event: EventFrame): void {
    const kind = event.notice_type === 'notify' ? event.sub_type : event.notice_type;
    if (kind === 'bot_offline') this.watch.wentOffline(event.tag ?? '', event.message ?? '');
    else if (kind === 'bot_online') this.watch.cameOnline();
    else return;
    this.host.healthChanged(this);
  }

  private heartbeat(event: EventFrame): void {
    this.lastHeartbeat = Date.now();
    this.watch.report(event.status);
    this.host.stateChanged(this);
    if (event.interval) this.heartbeatInterval = event.interval;
    this.watchdog.beat(this.heartbeatInterval);
  }

  /** Two heartbeats missed: ask get_status; no answer means the link is dead. */
  private async probe(): Promise<void> {
    if (this.state !== 'up') return;
    this.log.warn(`upstream missed two heartbeats (interval ${this.heartbeatInterval} ms); probing with get_status`);
    if (!(await this.askStatus())) {
      this.link.kill(`two heartbeats missed and get_status unanswered within ${this.options.probeTimeout} ms`);
    } else if (this.state === 'up') this.watchdog.beat(this.heartbeatInterval);
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
    if (reply.status === 'ok') {
      this.watch.report(reply.data);
      this.host.stateChanged(this);
    }
    return answered;
  }

  private callFinished(record: CallRecord): void {
    this.rates.calls.mark();
    this.watch.call(record); // by its real name: a send_* counted as "other" is still a send
    this.host.callFinished(record);
  }

  private async fetchLoginInfo(): Promise<void> {
    const reply = await this.calls.request('get_login_info', {});
    const data = reply.data as { user_id?: SelfId; nickname?: string } | null | undefined;
    if (reply.status === 'ok' && data?.user_id !== undefined) {
      this.nickname = data.nickname;
      this.learnSelfId(data.user_id);
      this.host.healthChanged(this); // its alerts name it from now on
    } else {
      this.log.warn(`get_login_info failed (${String(reply.message ?? reply.retcode)}); self_id will come from the first event`);
    }
  }

  private learnSelfId(id: SelfId | undefined): void {
    if (id === undefined || id === this.selfId) return;
    const previous = this.selfId;
    if (previous !== undefined) this.log.warn(`self_id changed from ${previous} to ${id}`);
    else this.log.info(`bot self_id is ${id}`);
    this.selfId = id;
    this.host.identified(this, previous);
  }

  private setState(state: LinkState): void {
    this.state = state;
    this.stateSince = Date.now();
    this.host.stateChanged(this);
  }
}
