// Routes API calls to the one upstream link and each reply back to its caller, with the caller's echo restored.
import type { Logger } from './log.ts';
import { failedReply, isStreamChunk, RelayRetcode, type ActionRequest, type ReplyFrame } from './onebot.ts';

/** Whoever made a call: a client session, or the relay itself. */
export interface Caller {
  readonly label: string;
  reply(frame: Record<string, unknown>): void;
}

export interface CallLink {
  isUp(): boolean;
  send(text: string): boolean;
}

export interface CallOptions {
  /** Answer a call that got no reply within this long after it arrived, ms. */
  callTimeout: number;
  /** Keep a call this long while the link is down before failing it, ms. */
  hold: number;
}

interface Call {
  readonly caller: Caller;
  readonly request: ActionRequest;
  readonly hasEcho: boolean;
  readonly relayEcho: string;
  readonly deadline: number;
  timer: NodeJS.Timeout | undefined;
}

export class CallRouter {
  private seq = 0;
  private readonly inFlight = new Map<string, Call>();
  private readonly held: Call[] = [];

  constructor(
    private readonly link: CallLink,
    private readonly options: CallOptions,
    private readonly log: Logger,
  ) {}

  /** Take a call from a caller: send it now, or hold it until the link is up. */
  call(caller: Caller, request: ActionRequest, timeout = this.options.callTimeout): void {
    const call: Call = {
      caller,
      request,
      hasEcho: 'echo' in request,
      relayEcho: `relay:${++this.seq}`,
      deadline: Date.now() + timeout,
      timer: undefined,
    };
    if (this.link.isUp()) this.send(call);
    else this.hold(call);
  }

  /** The relay's own call; resolves with the reply (a failed one included). */
  request(action: string, params: Record<string, unknown>, timeout?: number): Promise<ReplyFrame> {
    return new Promise((resolve) => this.call({ label: 'relay', reply: (frame) => resolve(frame as ReplyFrame) }, { action, params }, timeout));
  }

  /** A reply frame from the implementation. */
  reply(frame: ReplyFrame): void {
    const call = typeof frame.echo === 'string' ? this.inFlight.get(frame.echo) : undefined;
    if (!call) {
      this.log.debug(`dropped a reply with no waiting call (echo ${JSON.stringify(frame.echo)}): it came after its timeout, or was not ours`);
      return;
    }
    clearTimeout(call.timer);
    if (isStreamChunk(frame)) {
      call.timer = setTimeout(() => this.timedOut(call), this.options.callTimeout);
    } else {
      this.inFlight.delete(call.relayEcho);
    }
    this.answer(call, frame);
  }

  linkUp(): void {
    for (const call of this.held.splice(0)) {
      clearTimeout(call.timer);
      this.send(call);
    }
  }

  /** Calls already sent may or may not have run: fail them, never resend (a resent send_msg is a duplicate). */
  linkDown(): void {
    for (const call of this.inFlight.values()) {
      clearTimeout(call.timer);
      this.fail(call, RelayRetcode.outcomeUnknown, `upstream link lost after "${call.request.action}" was sent: outcome unknown, not resent`);
    }
    this.inFlight.clear();
  }

  /** A caller went away: its held calls are not sent (it can no longer see their replies). */
  abandon(caller: Caller): void {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const call = this.held[i]!;
      if (call.caller !== caller) continue;
      clearTimeout(call.timer);
      this.held.splice(i, 1);
    }
  }

  /** Fail everything still waiting (the relay is stopping). */
  close(): void {
    for (const call of [...this.held.splice(0), ...this.inFlight.values()]) {
      clearTimeout(call.timer);
      this.fail(call, RelayRetcode.notConnected, 'relay shutting down');
    }
    this.inFlight.clear();
  }

  get pending(): number {
    return this.held.length + this.inFlight.size;
  }

  private send(call: Call): void {
    const { action, params } = call.request;
    if (!this.link.send(JSON.stringify({ action, params: params ?? {}, echo: call.relayEcho }))) {
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
    this.answer(call, failedReply(retcode, message));
  }

  private answer(call: Call, frame: Record<string, unknown>): void {
    const out: Record<string, unknown> = { ...frame };
    if (call.hasEcho) out.echo = call.request.echo;
    else delete out.echo;
    call.caller.reply(out);
  }
}
