// The relay's core: the accounts its upstream links carry, and the endpoints it serves them to. An account's
// events go to every endpoint with its self_id; a client's calls go to the account it chose (or the default).
import { Account, type AccountHealth, type AccountHost, type AccountOptions } from './account.ts';
import { answer, type Caller, type CallRecord } from './calls.ts';
import { DuplicateFilter } from './dedupe.ts';
import { type Adapter, carriesEvents } from './downstream/adapter.ts';
import { GroupDedupe, type GroupStatus } from './group-dedupe.ts';
import type { Logger } from './log.ts';
import type { ActionRequest, SelfId } from './onebot.ts';
import { failedReply, RelayRetcode } from './onebot.ts';
import { OutgoingEvent } from './profile/profile.ts';
import { ActionNames, CallStats, RateMeter } from './stats.ts';
import type { LinkHost, LinkPort, UpstreamSink } from './upstream/upstream.ts';

export type HubOptions = AccountOptions & {
  /** /healthz is up when every account is up ("all"), or when at least one is ("any"). */
  healthyWhen: 'all' | 'any';
  /** Drop an event an account repeats within this long, ms (0: off). */
  dedupeWindow: number;
  /** One copy of each group message and notice, from the group's primary account. */
  groupDedupe: boolean;
  /** The relay's heartbeat interval, ms: how long another account's copy waits for the primary's, when its implementation announced none. */
  heartbeat: number;
};

/** Which account a client wants: a self_id, or undefined for the default one (the first configured). */
export type Selector = SelfId | undefined;

export type AccountChange = 'added' | 'removed';

/** What downstream endpoints see of the accounts. */
export interface Accounts {
  /** Self_ids served now, in configuration order. */
  selfIds(): SelfId[];
  /** Run `then` with the self_id `selector` stands for once it is known (at once if it is); returns a cancel function. */
  whenKnown(selector: Selector, then: (selfId: SelfId) => void): () => void;
  /** Told when a self_id starts or stops being served; returns an unsubscribe function. */
  onAccount(listener: (selfId: SelfId, change: AccountChange) => void): () => void;
  /** Route a client's call to the account `selector` stands for. */
  call(selector: Selector, caller: Caller, request: ActionRequest): void;
  /** A caller went away: its calls not yet sent are dropped. */
  abandon(caller: Caller): void;
  /** The relay is about to close a caller's connection: its waiting calls are answered now, failed, saying `why`. */
  failPending(caller: Caller, why: string): void;
  /** What relay heartbeats say of the account. */
  linkStatus(selfId: SelfId): { online: boolean; good: boolean };
  /** Told when what linkStatus says of `selfId` changes (the link went down or up, QQ went offline); returns an unsubscribe function. */
  onStatusChange(selfId: SelfId, listener: () => void): () => void;
}

export interface Health {
  /** degraded: a link is up but its bot is not working (see reasons). */
  status: 'up' | 'degraded' | 'down';
  /** Every reason, joined. */
  reason?: string;
  reasons: string[];
  /** The default account's link. */
  link: AccountHealth['link'];
  /** The default account's sends. */
  sends: AccountHealth['sends'];
  self_id: SelfId | null;
  nickname: string | null;
  clients: number;
  reconnects: number;
  pending_calls: number;
  uptime_s: number;
  accounts: AccountHealth[];
}

export interface AccountWatcher {
  changed(account: Account): void;
  gone(account: Account): void;
}

const key = (selfId: SelfId) => String(selfId);

export class Hub implements Accounts {
  /** Every account, by the upstream that carries it, in configuration order. */
  private readonly byOrigin = new Map<string, Account[]>();
  /** The account that serves each self_id: the newest to announce it, among those up if any is. */
  private readonly serving = new Map<string, Account>();
  /** When each account announced its self_id, to tell the newer of two. */
  private readonly announced = new Map<Account, number>();
  private announcements = 0;
  private readonly adapters = new Set<Adapter>();
  /** Each account's filter of repeated events. */
  private readonly repeats = new Map<Account, DuplicateFilter>();
  /** One copy of each group message (groupDedupe); none when off. */
  private groups: GroupDedupe<OutgoingEvent> | undefined;
  /** Accounts asked for their groups since their link came up. */
  private readonly groupsAsked = new WeakSet<Account>();
  /** Events dropped as repeats by the accounts the hub no longer has. */
  private repeatsGone = 0;
  private readonly waiters = new Set<{ selector: Selector; then: (selfId: SelfId) => void }>();
  private readonly accountListeners = new Set<(selfId: SelfId, change: AccountChange) => void>();
  /** Listeners of each self_id's link status, and the status they last heard. */
  private readonly statusListeners = new Map<string, { listeners: Set<() => void>; last: string }>();
  private readonly startedAt = Date.now();
  readonly rates = { events: new RateMeter(), calls: new RateMeter() };
  readonly callStats = new CallStats();
  private readonly actionNames = new ActionNames();
  /** Told of every client call that finishes (metrics). */
  readonly callListeners = new Set<(record: CallRecord) => void>();
  /** Told when an account's link or health changes, and when an account is no longer served (alerts). */
  readonly watchers = new Set<AccountWatcher>();

  constructor(
    private readonly options: HubOptions,
    private readonly log: Logger,
  ) {
    this.configureGroups();
  }

  /** Events dropped as duplicates: repeated by one account, and (groupDedupe) reported by another account too. */
  get duplicates(): { repeated: number; otherAccount: number } {
    const repeated = [...this.repeats.values()].reduce((n, f) => n + f.dropped, this.repeatsGone);
    return { repeated, otherAccount: this.groups?.dropped ?? 0 };
  }

  /** Each group seen with groupDedupe on, and its primary account. */
  groupPrimaries(): GroupStatus[] {
    return this.groups?.groups() ?? [];
  }

  /** Every account, in configuration order. */
  get accounts(): Account[] {
    return [...this.byOrigin.values()].flat();
  }

  /** Every event received from the implementations. */
  get eventsReceived(): number {
    return this.accounts.reduce((n, a) => n + a.eventsReceived, 0);
  }

  /**
   * Where the links of one upstream get their accounts: the same ones again when that upstream is rebuilt. `listens`:
   * it is a listener, any number of implementations dial it.
   */
  host(origin: string, listens = false): LinkHost {
    if (!this.byOrigin.has(origin)) this.byOrigin.set(origin, []);
    return {
      attach: (link: LinkPort, selfId?: SelfId): UpstreamSink => {
        const accounts = this.byOrigin.get(origin)!;
        // A link that names no account takes back the upstream's only one (a rebuilt link, or an implementation dialling a
        // rebuilt listener again); on a listener never one that is up: that one is another implementation's.
        const known = accounts.find((a) =>
          selfId === undefined ? a.selfId === undefined || (accounts.length === 1 && !(listens && a.isUp)) : a.selfId === selfId,
        );
        if (known) {
          known.relink(link);
          return known;
        }
        const account = new Account(
          link,
          this.options,
          this.accountHost,
          this.log.child(selfId === undefined ? 'upstream' : `${selfId}`),
          selfId,
        );
        accounts.push(account);
        if (selfId !== undefined) this.accountHost.identified(account, undefined);
        for (const watcher of this.watchers) watcher.changed(account);
        return account;
      },
    };
  }

  /** An upstream is gone: its accounts stop being served (their clients hear lifecycle disable). */
  forget(origin: string): void {
    for (const account of this.byOrigin.get(origin) ?? []) {
      account.close();
      this.announced.delete(account);
      for (const watcher of this.watchers) watcher.gone(account);
      this.repeatsGone += this.repeats.get(account)?.dropped ?? 0;
      this.repeats.delete(account);
    }
    this.byOrigin.delete(origin);
    this.reviewServing();
  }

  /** New call timeouts, hold, rate limit and health settings take effect from now on. */
  configure(options: HubOptions): void {
    Object.assign(this.options, options);
    for (const account of this.accounts) account.configure(options);
    for (const filter of this.repeats.values()) filter.configure(options.dedupeWindow);
    this.configureGroups();
  }

  add(adapter: Adapter): void {
    this.adapters.add(adapter);
  }

  remove(adapter: Adapter): void {
    this.adapters.delete(adapter);
  }

  selfIds(): SelfId[] {
    return [...this.serving.values()].map((a) => a.selfId!);
  }

  /** The account a selector stands for: the one serving that self_id, or the default (first configured). */
  account(selector: Selector): Account | undefined {
    if (selector !== undefined) return this.serving.get(key(selector));
    return this.served()[0] ?? this.accounts[0];
  }

  /** The accounts serving their self_id, in configuration order. */
  private served(): Account[] {
    return this.accounts.filter((a) => a.selfId !== undefined && this.serving.get(key(a.selfId)) === a);
  }

  whenKnown(selector: Selector, then: (selfId: SelfId) => void): () => void {
    const selfId = this.account(selector)?.selfId;
    if (selfId !== undefined) {
      then(selfId);
      return nothingToCancel;
    }
    const waiter = { selector, then };
    this.waiters.add(waiter);
    return () => this.waiters.delete(waiter);
  }

  onAccount(listener: (selfId: SelfId, change: AccountChange) => void): () => void {
    this.accountListeners.add(listener);
    return () => this.accountListeners.delete(listener);
  }

  call(selector: Selector, caller: Caller, request: ActionRequest): void {
    const account = this.account(selector);
    if (account) account.calls.call(caller, request);
    else {
      answer(caller, request, failedReply(RelayRetcode.notConnected, `no account ${selector} is linked to the relay`));
    }
  }

  abandon(caller: Caller): void {
    for (const account of this.accounts) account.calls.abandon(caller);
  }

  failPending(caller: Caller, why: string): void {
    for (const account of this.accounts) account.calls.failPending(caller, why);
  }

  linkStatus(selfId: SelfId): { online: boolean; good: boolean } {
    return this.serving.get(key(selfId))?.linkStatus() ?? { online: false, good: false };
  }

  onStatusChange(selfId: SelfId, listener: () => void): () => void {
    let entry = this.statusListeners.get(key(selfId));
    if (!entry) {
      entry = { listeners: new Set(), last: JSON.stringify(this.linkStatus(selfId)) };
      this.statusListeners.set(key(selfId), entry);
    }
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (!entry.listeners.size) this.statusListeners.delete(key(selfId));
    };
  }

  health(): Health {
    const connected = [...this.adapters].flatMap((a) => a.clients()).filter((c) => c.connected);
    const all = this.accounts;
    const accounts = all.map((a) => {
      const health = a.health();
      health.clients = connected.filter((c) => c.self_id !== undefined && String(c.self_id) === String(health.self_id)).length;
      return health;
    });
    const byDefault = this.account(undefined);
    const main = byDefault && accounts[all.indexOf(byDefault)];
    const up = accounts.filter((a) => a.status !== 'down');
    const healthy = this.options.healthyWhen === 'any' ? up.length > 0 : accounts.length > 0 && up.length === accounts.length;
    const reasons = accounts.flatMap((a) =>
      accounts.length === 1 ? a.reasons : a.reasons.map((r) => `${a.self_id ?? a.link.target}: ${r}`),
    );
    const degraded = up.some((a) => a.status === 'degraded');
    return {
      status: !healthy ? 'down' : degraded ? 'degraded' : 'up',
      ...(reasons.length ? { reason: reasons.join('; ') } : {}),
      reasons,
      link: main?.link ?? {
        state: 'connecting',
        target: 'none',
        since: new Date(this.startedAt).toISOString(),
        last_heartbeat_age_ms: null,
        heartbeat_interval_ms: 0,
      },
      sends: main?.sends ?? { per_minute: 0, queued: 0, delayed: 0, rejected: 0 },
      self_id: main?.self_id ?? null,
      nickname: main?.nickname ?? null,
      clients: connected.length,
      reconnects: accounts.reduce((n, a) => n + a.reconnects, 0),
      pending_calls: accounts.reduce((n, a) => n + a.pending_calls, 0),
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      accounts,
    };
  }

  /** Close every endpoint, then fail what the accounts still hold. */
  async stop(): Promise<void> {
    this.groups?.close();
    await Promise.all([...this.adapters].map((a) => a.close()));
    for (const account of this.accounts) account.close();
  }

  private readonly accountHost: AccountHost = {
    identified: (account, previous) => {
      this.announced.set(account, ++this.announcements);
      const other = this.serving.get(key(account.selfId!));
      if (other && other !== account && other.isUp) {
        this.log.warn(
          `self_id ${account.selfId} is announced by ${account.link.target} while ${other.link.target} serves it; the newer link serves it now`,
        );
      }
      if (previous !== undefined) this.log.debug(`self_id ${previous} is now ${account.selfId}`);
      this.reviewServing();
    },
    stateChanged: (account) => {
      this.reviewServing();
      this.tellStatus();
      for (const watcher of this.watchers) watcher.changed(account);
      if (!account.isUp) this.groupsAsked.delete(account);
      else if (!this.groupsAsked.has(account)) void this.learnGroups(account);
    },
    healthChanged: (account) => {
      // A bot_offline or bot_online notice: which account answers in a group, and what clients are told of the
      // account, change now, not at the next heartbeat.
      this.reviewGroups();
      this.tellStatus();
      for (const watcher of this.watchers) watcher.changed(account);
    },
    event: (account, event, { json, complete, read }) => {
      this.rates.events.mark();
      const selfId = account.selfId;
      if (selfId === undefined || this.serving.get(key(selfId)) !== account) return; // a link another one replaced
      if (this.repeatsOf(account).isDuplicate(read)) return;
      const outgoing = new OutgoingEvent(event, complete ? json : undefined);
      if (this.groups) this.groups.event(selfId, outgoing, json);
      else this.fanOut(selfId, outgoing);
    },
    callFinished: (finished) => {
      const record = { ...finished, action: this.actionNames.of(finished.action) };
      this.rates.calls.mark();
      this.callStats.record(record);
      for (const listener of this.callListeners) listener(record);
    },
  };

  /** An event to every endpoint of its account. */
  private fanOut(selfId: SelfId, outgoing: OutgoingEvent): void {
    for (const adapter of this.adapters) if (carriesEvents(adapter)) adapter.deliver(outgoing, selfId);
  }

  private repeatsOf(account: Account): DuplicateFilter {
    let filter = this.repeats.get(account);
    if (!filter) this.repeats.set(account, (filter = new DuplicateFilter(this.options.dedupeWindow)));
    return filter;
  }

  /** groupDedupe turned on or off (at start or by a reload). */
  private configureGroups(): void {
    if (this.options.groupDedupe && !this.groups) {
      this.groups = new GroupDedupe<OutgoingEvent>((selfId, outgoing) => this.fanOut(selfId, outgoing));
      this.reviewGroups();
      for (const account of this.accounts) if (account.isUp) void this.learnGroups(account);
    } else if (!this.options.groupDedupe && this.groups) {
      this.groups.flush();
      this.groups = undefined;
    }
  }

  /** With groupDedupe, ask an account that came up which groups it is in, so that it can be their primary at once. */
  private async learnGroups(account: Account): Promise<void> {
    if (!this.groups) return;
    this.groupsAsked.add(account);
    const reply = await account.calls.request('get_group_list', {});
    const list = reply.status === 'ok' && Array.isArray(reply.data) ? (reply.data as { group_id?: number | string }[]) : undefined;
    if (!list) {
      this.log.debug(`get_group_list failed (${String(reply.message ?? reply.retcode)}): its groups are learned from its events`);
      return;
    }
    const selfId = account.selfId;
    if (selfId !== undefined)
      this.groups?.joined(
        selfId,
        list.flatMap((g) => (g.group_id === undefined ? [] : [g.group_id])),
      );
  }

  /** Tell group dedupe which accounts can answer now, in configuration order. */
  private reviewGroups(): void {
    this.groups?.setAccounts(
      this.served().map((a) => {
        const heartbeat = () => a.heartbeatEvery || this.options.heartbeat;
        // Read when a copy starts to wait: the interval is announced after the account is.
        return {
          selfId: a.selfId!,
          available: a.canAnswer,
          get grace() {
            return heartbeat();
          },
        };
      }),
    );
  }

  /** Decide again which account serves each self_id; say which self_ids came and went; wake waiters. */
  private reviewServing(): void {
    const before = new Map(this.serving);
    this.serving.clear();
    for (const account of this.accounts) {
      if (account.selfId === undefined) continue;
      const k = key(account.selfId);
      const current = this.serving.get(k);
      if (!current || this.outranks(account, current)) this.serving.set(k, account);
    }
    for (const [k, account] of before) if (!this.serving.has(k)) this.tell(account.selfId!, 'removed');
    for (const [k, account] of this.serving) if (!before.has(k)) this.tell(account.selfId!, 'added');
    for (const waiter of [...this.waiters]) {
      const selfId = this.account(waiter.selector)?.selfId;
      if (selfId === undefined) continue;
      this.waiters.delete(waiter);
      waiter.then(selfId);
    }
    this.reviewGroups();
  }

  /** Up beats down; then the newer announcement beats the older. */
  private outranks(a: Account, b: Account): boolean {
    if (a.isUp !== b.isUp) return a.isUp;
    return (this.announced.get(a) ?? 0) > (this.announced.get(b) ?? 0);
  }

  /** Tell the listeners of each self_id whose link status changed. */
  private tellStatus(): void {
    for (const [k, entry] of this.statusListeners) {
      const now = JSON.stringify(this.serving.get(k)?.linkStatus() ?? { online: false, good: false });
      if (now === entry.last) continue;
      entry.last = now;
      for (const listener of [...entry.listeners]) listener();
    }
  }

  private tell(selfId: SelfId, change: AccountChange): void {
    for (const listener of this.accountListeners) listener(selfId, change);
  }
}

/** One for all: a closure made in whenKnown would keep its `then` for as long as the caller keeps the cancel. */
function nothingToCancel(): void {}
