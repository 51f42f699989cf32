// Reverse WebSocket target: the relay dials a framework (NoneBot, Koishi, aiocqhttp) as the implementation would.
import type { WebSocket } from 'ws';
import pkg from '../../package.json' with { type: 'json' };
import { closeText, type DialOptions, Redialler, SETTLE_MS, type SocketClosed } from '../dial.ts';
import { type BufferLimits, EventBuffer } from '../event-buffer.ts';
import type { Accounts } from '../hub.ts';
import { onMessage } from '../listen.ts';
import { type Logger, redactUrl } from '../log.ts';
import type { SelfId } from '../onebot.ts';
import { EndpointProfiles } from '../profile/endpoint-profiles.ts';
import type { OutgoingEvent, Profile } from '../profile/profile.ts';
import {
  addTotals,
  type ClientStatus,
  clientStatus,
  type EndpointTotals,
  type EventAdapter,
  followAccounts,
  type KeptEvents,
} from './adapter.ts';
import { type Role, type SessionOptions, WsSession } from './ws-session.ts';

export interface ReverseTarget {
  /** Only these accounts; all when absent. */
  accounts?: (number | string)[];
  /** One Universal socket, or ... */
  url?: string;
  /** ... an API socket and an Event socket. */
  apiUrl?: string;
  eventUrl?: string;
  token: string;
}

export interface ReverseWsOptions extends DialOptions {
  session: SessionOptions;
  buffer: BufferLimits;
}

/** X-Client-Role as the frameworks check it: Koishi wants exactly "Universal". */
const ROLE_HEADER: Record<Role, string> = { universal: 'Universal', api: 'API', event: 'Event' };

export class ReverseWsAdapter implements EventAdapter {
  readonly name: string;
  private readonly roles: [Role, string][];
  /** Each account's sockets (one Universal, or an API and an Event one), by self_id. */
  private readonly sockets = new Map<string, ReverseSocket[]>();
  /** Events kept for accounts before their sockets exist (handed over by a restarted endpoint). */
  private kept: KeptEvents = new Map();
  private gone: EndpointTotals = { delivered: 0, dropped: 0, failed: 0 };
  private stopWatching: () => void = () => {};

  constructor(
    private readonly target: ReverseTarget,
    private readonly accounts: Accounts,
    private readonly options: ReverseWsOptions,
    private readonly log: Logger,
    private profiles = new EndpointProfiles(),
  ) {
    this.roles = target.url
      ? [['universal', target.url]]
      : [
          ['api', target.apiUrl!],
          ['event', target.eventUrl!],
        ];
    this.name = `reverse WebSocket to ${this.roles.map(([, url]) => redactUrl(url)).join(' + ')}`;
  }

  clients(): ClientStatus[] {
    return this.allSockets().map((s) => s.status());
  }

  totals(): EndpointTotals {
    return addTotals(this.clients(), { ...this.gone });
  }

  handOver(): KeptEvents {
    const kept: KeptEvents = new Map(this.kept);
    for (const socket of this.allSockets()) kept.set(keptKey(socket.selfId, socket.role), socket.buffer?.takeAll() ?? []);
    return kept;
  }

  adopt(kept: KeptEvents): void {
    this.kept = new Map(kept);
  }

  async open(): Promise<void> {
    this.stopWatching = followAccounts(
      this.accounts,
      (selfId) => this.serve(selfId),
      (selfId) => void this.retire(selfId),
    );
  }

  deliver(event: OutgoingEvent, selfId: SelfId): void {
    for (const socket of this.sockets.get(String(selfId)) ?? []) socket.deliver(event);
  }

  useProfiles(profiles: EndpointProfiles): void {
    this.profiles = profiles;
    for (const socket of this.allSockets()) socket.useProfile(profiles.for());
  }

  async close(): Promise<void> {
    this.stopWatching();
    await Promise.all(this.allSockets().map((s) => s.close()));
  }

  private allSockets(): ReverseSocket[] {
    return [...this.sockets.values()].flat();
  }

  /** Dial for an account (one socket per role), unless the target is limited to other accounts. */
  private serve(selfId: SelfId): void {
    if (this.sockets.has(String(selfId))) return;
    if (this.target.accounts && !this.target.accounts.some((a) => String(a) === String(selfId))) return;
    const sockets = this.roles.map(
      ([role, url]) => new ReverseSocket(url, role, selfId, this.target.token, this.accounts, this.options, this.log),
    );
    this.sockets.set(String(selfId), sockets);
    for (const socket of sockets) {
      socket.useProfile(this.profiles.for());
      const key = keptKey(selfId, socket.role);
      socket.buffer?.adopt(this.kept.get(key) ?? []);
      this.kept.delete(key);
      socket.start();
    }
  }

  /** An account is no longer served: its sockets say disable and close. */
  private async retire(selfId: SelfId): Promise<void> {
    const sockets = this.sockets.get(String(selfId)) ?? [];
    this.sockets.delete(String(selfId));
    this.gone = addTotals(
      sockets.map((s) => s.status()),
      this.gone,
    );
    await Promise.all(sockets.map((s) => s.close()));
  }
}

/** What a restarted endpoint hands over, per account and role. */
function keptKey(selfId: SelfId, role: Role): string {
  return `${selfId}/${role}`;
}

/** One role's socket to one URL: at most one open or opening at a time, redialled with backoff. */
class ReverseSocket {
  private readonly target: string;
  private readonly redial: Redialler;
  /** Events kept while the socket is down (event-carrying roles only). */
  readonly buffer: EventBuffer | undefined;
  private session: WsSession | undefined;
  /** Events delivered over earlier sockets. */
  private delivered = 0;
  private profile: Profile | undefined;

  constructor(
    url: string,
    readonly role: Role,
    readonly selfId: SelfId,
    token: string,
    private readonly accounts: Accounts,
    private readonly options: ReverseWsOptions,
    private readonly log: Logger,
  ) {
    this.target = `${redactUrl(url)} (${ROLE_HEADER[role]}, ${selfId})`;
    const headers = {
      'X-Self-ID': String(selfId),
      'X-Client-Role': ROLE_HEADER[role],
      'User-Agent': `OneBot/11 onebot-relay/${pkg.version}`,
    };
    this.redial = new Redialler(
      `reverse target ${this.target}`,
      { url, token, headers, explain: explainRefusal },
      options,
      {
        open: (ws) => this.opened(ws),
        up: () => this.log.info(`connected to reverse target ${this.target}`),
        closed: (closed) => this.closed(closed),
      },
      log,
    );
    if (role !== 'api') {
      this.buffer = new EventBuffer(`reverse target ${this.target}`, options.buffer, log, `reverse ${redactUrl(url)} ${selfId}/${role}`);
      this.buffer.recover();
    }
  }

  status(): ClientStatus {
    const kept = { buffered: this.buffer?.size ?? 0, dropped: this.buffer?.dropped ?? 0 };
    if (this.session) return { ...this.session.status(this.target), delivered: this.delivered + this.session.delivered, ...kept };
    const lastError = this.redial.problem ?? this.redial.lastError;
    return clientStatus({ label: this.target, role: this.role, self_id: this.selfId, delivered: this.delivered, ...kept, lastError });
  }

  start(): void {
    this.redial.start();
  }

  deliver(event: OutgoingEvent): void {
    const copy = event.copyFor(this.profile);
    if (copy && !this.session?.deliver(copy)) this.buffer?.push(copy.text);
  }

  /** The target's delivery profile, for this socket and the next. */
  useProfile(profile: Profile | undefined): void {
    this.profile = profile;
    if (this.session) this.session.profile = profile;
  }

  async close(): Promise<void> {
    this.redial.stop();
    this.buffer?.abandon();
    if (this.session) await this.session.close(1001, 'relay shutting down', true);
    else this.redial.socket?.terminate();
  }

  private opened(ws: WebSocket): void {
    const session = new WsSession(
      ws,
      this.role,
      `reverse target ${this.target}`,
      this.accounts,
      this.selfId,
      this.options.session,
      this.log,
    );
    session.profile = this.profile;
    this.session = session;
    onMessage(ws, (data) => session.receive(data), this.log);
    session.start();
    if (this.buffer) session.replay(this.buffer, SETTLE_MS);
  }

  private closed({ code, reason, wasUp, lastError }: SocketClosed): void {
    const session = this.session;
    this.session = undefined;
    session?.closed();
    this.delivered += session?.delivered ?? 0;
    if (wasUp) this.log.warn(`reverse target ${this.target} closed: ${closeText(code, reason)}${lastError ? ` (${lastError})` : ''}`);
  }
}

/** What a refused handshake usually means, for the frameworks known to refuse that way. */
const REFUSALS: Record<number, string> = {
  400: "aiocqhttp (HoshinoBot, LangBot) answers 400 without an X-Client-Role: check the target's path (/ws/, /ws/api/, /ws/event/)",
  401: "no token where the framework wants one: set the target's token (or --token)",
  403: 'a wrong token, or NoneBot\'s "Duplicate X-Self-ID": it has a bot for this account already, from another socket, an HTTP POST, or the relay\'s previous socket it has not yet seen close',
  404: 'no WebSocket at this path: NoneBot serves /onebot/v11/ws, Koishi /onebot, aiocqhttp /ws/',
  500: "the framework failed on the handshake: MaiBot's adapter answers 500 to a wrong token",
};

function explainRefusal(why: string): string {
  const status = /HTTP (\d{3})$/.exec(why)?.[1];
  const hint = status === undefined ? undefined : REFUSALS[Number(status)];
  return hint ? `${why} (${hint})` : why;
}
