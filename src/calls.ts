// Routes API calls to the one upstream link and each reply back to its caller, with the caller's echo restored.
import { withField } from './json-text.ts';
import type { Logger } from './log.ts';
import { type ActionRequest, failedReply, isStreamChunk, RelayRetcode, type ReplyFrame } from './onebot.ts';
import { describeKey, formatRate, limitKeys, type Rate, type SendLimits, scopeOf } from './send-limit.ts';
import { SendQueue } from './send-queue.ts';
import { RateMeter } from './stats.ts';

/** Whoever made a call: a client session, or the relay itself. */
export interface Caller {
  readonly label: string;
  /** The relay's own calls (probes, login info) are not counted in the call statistics. */
  readonly internal?: boolean;
  /** `action`: the call this answers, so that the reply can take the caller's message format. */
  reply(frame: Record<string, unknown>, action?: string): void;
  /**
   * The implementation's reply to `action` as it came, with the caller's echo in place of the relay's (`frame` makes
   * it): no megabytes of an image read and written again. False: the caller must have it read (a profile reshapes it).
   */
  replyAsIs?(action: string, frame: () => Buffer): boolean;
}

/** limited: not sent, over a send limit. */
export type CallOutcome = 'ok' | 'failed' | 'timeout' | 'not_connected' | 'unknown' | 'limited';

/** A finished call, for statistics and health. */
export interface CallRecord {
  action: string;
  outcome: CallOutcome;
  /** From its arrival to its final answer. */
  ms: number;
  /** A failed reply's message, as the implementation gave it. */
  message?: string;
}

const OUTCOME_OF: Record<number, CallOutcome> = {
  [RelayRetcode.timeout]: 'timeout',
  [RelayRetcode.notConnected]: 'not_connected',
  [RelayRetcode.outcomeUnknown]: 'unknown',
  [RelayRetcode.sendLimited]: 'limited',
};

export interface CallLink {
  isUp(): boolean;
  send(frame: string | Buffer): boolean;
}

export interface CallOptions {
  /** Answer a call that got no reply within this long after it arrived, ms. */
  callTimeout: number;
  /** Keep a call this long while the link is down before failing it, ms. */
  hold: number;
  /** Spacing of rate-limited calls: `_rate_limited` ones, and send_* calls held through an outage, ms. */
  rateLimitInterval: number;
  sendLimit: SendLimits;
}

/** What the status page shows of an account's sends. */
export interface SendStats {
  per_minute: number;
  /** Waiting for their turn now. */
  queued: number;
  /** Sends that had to wait for a send limit, since the start. */
  delayed: number;
  /** Sends refused over a send limit (overflow "reject", or their time ran out waiting), since the start. */
  rejected: number;
}

/** The window of the rate-limited calls (one per rateLimitInterval), beside the send limits' windows. */
const PACE = 'pace';

/** The spec's suffixes, which no implementation honours: the relay does what they promise. */
const SUFFIX = /_(async|rate_limited)$/;
/** Calls that post messages: after an outage they go out at the rate limit, not in a burst (NapCatQQ#130). */
export const isSend = (action: string): boolean => action.startsWith('send_');

/** How a call waits, beyond what its caller asked. */
interface CallTerms {
  /** ms; the relay's call timeout unless given. */
  timeout?: number;
  /** It goes out at the rate limit. */
  paced?: boolean;
  /** Whose turn it takes under the limits: the caller unless given. */
  owner?: object;
}

interface Call {
  readonly caller: Caller;
  /** Whose turn it takes under the limits: the client, also for its calls run in the background. */
  readonly owner: object;
  /** The windows it waits for (set when it is queued). */
  keys: string[];
  readonly request: ActionRequest;
  /** A number, so that it fits where most clients' echoes stood in a large call (see withField). */
  readonly relayEcho: number;
  /** performance.now() at arrival: latencies are fractions of a millisecond on loopback. */
  readonly started: number;
  readonly deadline: number;
  /** Goes out at the rate limit. */
  readonly paced: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class CallRouter {
  private seq = 0;
  private readonly inFlight = new Map<number, Call>();
  private readonly held: Call[] = [];
  /** Sends and rate-limited calls, each waiting for its turn under its windows. */
  private readonly queue: SendQueue<Call>;
  private readonly sends = new RateMeter(60);
  private delayed = 0;
  private rejected = 0;

  constructor(
    private readonly link: CallLink,
    private readonly options: CallOptions,
    private readonly log: Logger,
    private readonly finished: (record: CallRecord) => void = () => {},
  ) {
    this.queue = new SendQueue<Call>(
      (key) => this.rateOf(key),
      () => this.link.isUp(),
      (call) => this.release(call),
    );
  }

  /**
   * Take a call from a caller: send it now, hold it until the link is up, or queue it for its turn under the send
   * limits and the rate limit.
   */
  call(
    caller: Caller,
    request: ActionRequest,
    { timeout = this.options.callTimeout, paced = false, owner = caller }: CallTerms = {},
  ): void {
    const suffix = SUFFIX.exec(request.action);
    if (suffix) return this.inBackground(caller, request, suffix);
    const call: Call = {
      caller,
      owner,
      keys: [],
      request,
      relayEcho: ++this.seq,
      started: performance.now(),
      deadline: Date.now() + timeout,
      paced,
      timer: undefined,
    };
    if (!this.link.isUp()) this.hold(call);
    else if (paced || isSend(request.action)) this.enqueue(call, paced);
    else this.send(call);
  }

  /** The relay's own call; resolves with the reply (a failed one included). */
  request(action: string, params: Record<string, unknown>, timeout?: number): Promise<ReplyFrame> {
    return new Promise((resolve) =>
      this.call({ label: 'relay', internal: true, reply: (frame) => resolve(frame as ReplyFrame) }, { action, params }, { timeout }),
    );
  }

  /** A reply frame from the implementation; for a large one read as its skeleton (see readJson), its `bytes` too. */
  reply(frame: ReplyFrame, bytes?: Buffer): void {
    // An implementation that wrote the echo back as a string still finds its call.
    const call = typeof frame.echo === 'number' || typeof frame.echo === 'string' ? this.inFlight.get(Number(frame.echo)) : undefined;
    if (!call) {
      this.log.debug(
        `dropped a reply with no waiting call (echo ${JSON.stringify(frame.echo)}): it came after its timeout, or was not ours`,
      );
      return;
    }
    clearTimeout(call.timer);
    const last = !isStreamChunk(frame);
    if (last) this.inFlight.delete(call.relayEcho);
    else call.timer = setTimeout(() => this.timedOut(call), this.options.callTimeout);
    // The caller first: the statistics are not what it waits for.
    answer(call.caller, call.request, frame, bytes);
    if (!last) return;
    if (frame.status === 'failed') this.record(call, 'failed', String(frame.message ?? frame.wording ?? ''));
    else this.record(call, 'ok');
  }

  /** Held calls go out now; held send_* calls and rate-limited ones at the rate limit, in order. */
  linkUp(): void {
    for (const call of this.held.splice(0)) {
      clearTimeout(call.timer);
      // Queued without their turn yet: the other held calls go first, none waits behind a send.
      if (call.paced || isSend(call.request.action)) this.enqueue(call, true, false);
      else this.send(call);
    }
    this.queue.dispatch();
  }

  /** Calls already sent may or may not have run: fail them, never resend (a resent send_msg is a duplicate). */
  linkDown(): void {
    for (const call of this.inFlight.values()) {
      clearTimeout(call.timer);
      this.fail(
        call,
        RelayRetcode.outcomeUnknown,
        `upstream link lost after "${call.request.action}" was sent: outcome unknown, not resent`,
      );
    }
    this.inFlight.clear();
  }

  /** A caller went away: its calls not yet sent are dropped (it can no longer see their replies). */
  abandon(caller: Caller): void {
    for (const call of this.waitingOf(caller)) clearTimeout(call.timer);
  }

  /**
   * The relay is about to close this caller's connection itself: answer its calls still waiting now, for a framework
   * waits out its own timeout (NoneBot 30 s, aiocqhttp 60 s) for a call whose socket closed. `why` says who closes and why.
   */
  failPending(caller: Caller, why: string): void {
    for (const call of this.waitingOf(caller)) {
      clearTimeout(call.timer);
      this.fail(call, RelayRetcode.notConnected, `not sent: ${why}`);
    }
    for (const call of [...this.inFlight.values()].filter((c) => c.caller === caller)) {
      clearTimeout(call.timer);
      this.inFlight.delete(call.relayEcho);
      this.fail(call, RelayRetcode.outcomeUnknown, `${why} before "${call.request.action}" was answered: outcome unknown`);
    }
  }

  /** Fail everything still waiting (the relay is stopping). */
  close(): void {
    for (const call of [...this.held.splice(0), ...this.queue.drain(), ...this.inFlight.values()]) {
      clearTimeout(call.timer);
      this.fail(call, RelayRetcode.notConnected, 'relay shutting down');
    }
    this.inFlight.clear();
  }

  get pending(): number {
    return this.held.length + this.queue.size + this.inFlight.size;
  }

  sendStats(): SendStats {
    return { per_minute: Math.round(this.sends.perSecond() * 60), queued: this.queue.size, delayed: this.delayed, rejected: this.rejected };
  }

  /** New settings apply from now on; calls waiting get their turn under the new limits. */
  reconfigured(): void {
    this.queue.dispatch();
  }

  /** `x_async` and `x_rate_limited`: answer status async at once, run `x` in the background (the latter paced). */
  private inBackground(caller: Caller, request: ActionRequest, [suffix, kind]: RegExpExecArray): void {
    const action = request.action.slice(0, -suffix.length);
    answer(caller, request, { status: 'async', retcode: 1, data: null, message: '', wording: '' });
    const background: Caller = {
      label: `${caller.label} (${action} ${kind})`,
      reply: (reply) => {
        if (reply.status === 'failed') this.log.warn(`${background.label} failed: ${String(reply.message ?? reply.retcode)}`);
      },
    };
    const paced = kind === 'rate_limited';
    // A rate-limited call also gets the time its turn takes.
    const timeout = this.options.callTimeout + (paced ? (this.queue.size + 1) * this.options.rateLimitInterval : 0);
    // A large call read as its skeleton goes as its bytes, renamed.
    const frame = request.frame && withField(request.frame, 'action', JSON.stringify(action));
    this.call(background, { action, params: request.params, ...(frame ? { frame } : {}) }, { timeout, paced, owner: caller });
  }

  /**
   * Wait for its turn under its windows: the send limits of a send_*, and the rate limit for a paced call (and for
   * a send that comes while paced calls wait: newcomers go behind the backlog). Over a send limit with overflow
   * "reject", it is answered at once instead.
   */
  private enqueue(call: Call, paced: boolean, dispatch = true): void {
    const { account, group, private: direct } = this.options.sendLimit;
    const limited = isSend(call.request.action) && (account || group || direct);
    const limits = limited ? limitKeys(call.request).filter((key) => this.limitOf(key)) : [];
    // No window to wait for (no limit on its scopes, nothing paced): its turn is now.
    if (!limits.length && !paced && !this.queue.holds(PACE)) return this.release(call);
    const full = this.queue.blockedBy(limits);
    if (full && this.options.sendLimit.overflow === 'reject') {
      this.rejected++;
      this.fail(
        call,
        RelayRetcode.sendLimited,
        `not sent: over the send limit for ${this.describeLimit(full)}; sendLimit.overflow is "reject"`,
      );
      return;
    }
    if (full) this.delayed++;
    call.keys = [...(paced || this.queue.holds(PACE) ? [PACE] : []), ...limits];
    call.timer = setTimeout(() => this.ranOut(call), Math.max(0, call.deadline - Date.now()));
    this.queue.add(call, dispatch);
  }

  /** Its turn came. */
  private release(call: Call): void {
    clearTimeout(call.timer);
    if (isSend(call.request.action)) this.sends.mark();
    this.send(call);
  }

  /** Its time ran out while it waited for its turn: say which limit kept it. */
  private ranOut(call: Call): void {
    this.queue.remove(call);
    const full = this.queue.blockedBy(call.keys.filter((key) => key !== PACE));
    if (full) {
      this.rejected++;
      this.fail(
        call,
        RelayRetcode.sendLimited,
        `not sent: "${call.request.action}" was still waiting its turn under the send limit for ${this.describeLimit(full)} when its call timeout (${this.options.callTimeout} ms) ran out`,
      );
    } else {
      this.fail(
        call,
        RelayRetcode.notConnected,
        `not sent: "${call.request.action}" was still waiting its turn at the rate limit when its time ran out`,
      );
    }
  }

  /** A caller's calls not yet sent, taken out of the hold and the queue. */
  private waitingOf(caller: Caller): Call[] {
    const held = this.held.filter((c) => c.caller === caller);
    for (const call of held) this.held.splice(this.held.indexOf(call), 1);
    const queued = this.queue.entries().filter((c) => c.caller === caller);
    for (const call of queued) this.queue.remove(call);
    return [...held, ...queued];
  }

  private limitOf(key: string): Rate | undefined {
    return this.options.sendLimit[scopeOf(key)];
  }

  private rateOf(key: string): Rate {
    return key === PACE ? { count: 1, per: this.options.rateLimitInterval } : (this.limitOf(key) ?? { count: Infinity, per: 0 });
  }

  private describeLimit(key: string): string {
    return `${describeKey(key)} (${formatRate(this.limitOf(key)!)})`;
  }

  private send(call: Call): void {
    const { action, params, frame } = call.request;
    const echo = call.relayEcho;
    const out = frame === undefined ? JSON.stringify({ action, params: params ?? {}, echo }) : withField(frame, 'echo', String(echo));
    if (!this.link.send(out)) {
      this.hold(call);
      return;
    }
    this.inFlight.set(call.relayEcho, call);
    call.timer = setTimeout(() => this.timedOut(call), Math.max(0, call.deadline - Date.now()));
  }

  private hold(call: Call): void {
    this.held.push(call);
    const wait = Math.max(0, Math.min(this.options.hold, call.deadline - Date.now()));
    call.timer = setTimeout(() => {
      this.held.splice(this.held.indexOf(call), 1);
      this.fail(call, RelayRetcode.notConnected, `upstream not connected: waited ${wait} ms for the link`);
    }, wait);
  }

  private timedOut(call: Call): void {
    this.inFlight.delete(call.relayEcho);
    const message = `upstream did not answer "${call.request.action}" within ${this.options.callTimeout} ms (relay call timeout)`;
    this.log.warn(`${call.caller.label}: ${message}`);
    this.fail(call, RelayRetcode.timeout, message);
  }

  private fail(call: Call, retcode: number, message: string): void {
    answer(call.caller, call.request, failedReply(retcode, message));
    this.record(call, OUTCOME_OF[retcode] ?? 'failed');
  }

  private record(call: Call, outcome: CallOutcome, message?: string): void {
    if (call.caller.internal) return;
    this.finished({ action: call.request.action, outcome, ms: performance.now() - call.started, ...(message ? { message } : {}) });
  }
}

/**
 * Reply to a caller with its own echo, exactly as it sent it (or none if it sent none). A large reply (`bytes`, its
 * frame only a skeleton) goes as the implementation wrote it, echo swapped, where the caller takes it so; else it is
 * read whole.
 */
export function answer(caller: Caller, request: ActionRequest, frame: Record<string, unknown>, bytes?: Buffer): void {
  if (bytes && 'echo' in request) {
    const echo = JSON.stringify(request.echo) ?? 'null';
    if (caller.replyAsIs?.(request.action, () => withField(bytes, 'echo', echo))) return;
  }
  const whole = bytes ? (JSON.parse(bytes.toString()) as Record<string, unknown>) : frame;
  const out: Record<string, unknown> = { ...whole };
  if ('echo' in request) out.echo = request.echo;
  else delete out.echo;
  caller.reply(out, request.action);
}
