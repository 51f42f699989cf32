// One client WebSocket, whichever side dialled: lifecycle, relay heartbeats, pings, calls, a bounded outbound queue.
import * as v from 'valibot';
import type { WebSocket } from 'ws';
import type { Caller } from '../calls.ts';
import type { EventBuffer } from '../event-buffer.ts';
import type { Accounts, Selector } from '../hub.ts';
import { type ReadJson, readJson } from '../json-text.ts';
import { closeSurely, type PingOptions, watchPings } from '../keepalive.ts';
import type { Logger } from '../log.ts';
import { ActionRequest, failedReply, isJsonObject, RelayRetcode, type SelfId } from '../onebot.ts';
import type { EventCopy, Profile } from '../profile/profile.ts';
import { batchWrites, holdWrites } from '../write-batch.ts';
import { type ClientStatus, clientStatus } from './adapter.ts';
import { ClientLifecycle, type MetaSink } from './lifecycle.ts';

/** Universal carries calls and events; API only calls; Event only events. */
export type Role = 'universal' | 'api' | 'event';

export interface SessionOptions {
  /** Relay heartbeat interval, ms. */
  heartbeat: number;
  ping: PingOptions;
  /** Bytes that may wait to be written to this client before it is disconnected as too slow. */
  queueLimit: number;
}

/** A replay waits this long for a client to read what it was sent, ms. */
const REPLAY_PAUSE_MS = 20;

/** Close code for a client that cannot keep up. */
export const CLOSE_TOO_SLOW = 1008;

export class WsSession implements Caller, MetaSink {
  private cancelKnown: () => void = () => {};
  /** The account it is served, once known. */
  selfId: SelfId | undefined;
  private readonly meta: ClientLifecycle;
  private tooSlow = false;
  /** The relay is closing it: its last frames go out whatever its queue holds. */
  private closing = false;
  private readonly since = new Date().toISOString();
  /** Events kept for this client while it was away, sent before any new one, at the pace it reads. */
  private backlog: EventBuffer | undefined;
  /** Until the replay starts, new events wait in the backlog too. */
  private replayPending = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  /** Events handed to the socket. */
  delivered = 0;
  lastError: string | undefined;
  /** Its delivery profile (none: events as sent), set by its endpoint, which changes it on reload. */
  profile: Profile | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly role: Role,
    readonly label: string,
    private readonly accounts: Accounts,
    /** The account it asked for (none: the default one). */
    readonly selector: Selector,
    private readonly options: SessionOptions,
    private readonly log: Logger,
    /** A name the client gave itself, so that its events are kept while it is away. */
    readonly name?: string,
  ) {
    this.meta = new ClientLifecycle(accounts, options.heartbeat, this);
  }

  get receivesEvents(): boolean {
    return this.role !== 'api';
  }

  /** Begin: pings, and once its account is known (`served` is told which), lifecycle connect and heartbeats. */
  start(served: (selfId: SelfId) => void = () => {}): void {
    this.watchPings();
    this.cancelKnown = this.accounts.whenKnown(this.selector, (selfId) => {
      this.selfId = selfId;
      served(selfId);
      if (this.receivesEvents) this.meta.begin(selfId, 'connect');
    });
  }

  /** Its meta events (MetaSink) are sent at once, like any frame. */
  lifecycle(event: string): void {
    this.send(event);
  }

  heartbeat(event: string): void {
    this.send(event);
  }

  /** An upstream event, in its profile's copy. False when it could not be handed to the socket (it is closing, or too slow). */
  deliver(event: EventCopy): boolean {
    if (!this.receivesEvents) return true;
    if (this.backlog && (this.replayPending || this.backlog.size)) {
      // Behind the replay, to keep the order: it stays kept if this socket goes away first.
      this.backlog.push(event.text);
      return true;
    }
    return this.sendEvent(event.bytes);
  }

  /**
   * Send what `buffer` kept before anything new, no faster than the client reads it. `after` ms: only once
   * the socket has lasted that long, so that a peer that refuses it at once does not take the backlog away.
   */
  replay(buffer: EventBuffer, after = 0): void {
    this.backlog = buffer;
    const start = () => {
      this.replayPending = false;
      buffer.replaying();
      this.pump();
    };
    if (after <= 0) return start();
    this.replayPending = true;
    this.pumpTimer = setTimeout(start, after);
  }

  status(label = this.label): ClientStatus {
    return clientStatus({
      label,
      role: this.role,
      name: this.name,
      self_id: this.selfId,
      connected: this.ws.readyState === this.ws.OPEN,
      since: this.since,
      queueBytes: this.ws.bufferedAmount,
      delivered: this.delivered,
      lastError: this.lastError,
    });
  }

  reply(frame: Record<string, unknown>, action?: string): void {
    this.send(JSON.stringify(action !== undefined && this.profile ? this.profile.reply(action, frame) : frame));
  }

  replyAsIs(action: string, frame: () => Buffer): boolean {
    if (this.profile?.reshapesReply(action)) return false;
    this.send(frame());
    return true;
  }

  /** A frame from the client. */
  receive(data: Buffer): void {
    if (this.role === 'event') {
      this.log.debug(`${this.label}: ignored a frame on an event-only connection`);
      return;
    }
    let read: ReadJson;
    try {
      read = readJson(data);
    } catch {
      this.reply(failedReply(RelayRetcode.badRequest, 'frame is not valid JSON'));
      return;
    }
    const frame = read.json;
    const parsed = v.safeParse(ActionRequest, frame);
    if (!parsed.success) {
      const object = isJsonObject(frame) ? frame : undefined;
      const why = object ? parsed.issues[0].message : 'frame must be a JSON object like {"action": ..., "params": {...}, "echo": ...}';
      const echo = object && 'echo' in object ? { echo: object.echo } : {};
      this.reply({ ...failedReply(RelayRetcode.badRequest, `bad request: ${why}`), ...echo });
      return;
    }
    // A skeleton cannot be written out again: a large frame goes as it came, only its echo swapped.
    this.accounts.call(this.selfId ?? this.selector, this, read.complete ? parsed.output : { ...parsed.output, frame: data });
  }

  /** The socket closed; release everything tied to it. */
  closed(): void {
    clearTimeout(this.pumpTimer);
    this.cancelKnown();
    this.meta.end();
    this.accounts.abandon(this);
  }

  /**
   * Close politely; a peer that does not answer the close frame within a second is cut off. Its calls still waiting
   * are answered first (failed), so that they fail at once. `farewell`: the relay stops serving it, so say lifecycle
   * disable too.
   */
  close(code: number, reason: string, farewell = false): Promise<void> {
    this.closing = true;
    this.accounts.failPending(this, `the relay closed this connection (${reason})`);
    const disable = this.meta.end();
    if (farewell && disable) this.send(disable);
    return closeSurely(this.ws, code, reason);
  }

  /** In a method of its own: the closure it leaves with the ping watch keeps only the session. */
  private watchPings(): void {
    watchPings(this.ws, this.options.ping, (why) => {
      this.lastError = why;
      this.log.warn(`${this.label}: ${why}; dropping the connection`);
      this.ws.terminate();
    });
  }

  private sendEvent(event: string | Buffer): boolean {
    if (!this.send(event)) return false;
    this.delivered++;
    return true;
  }

  /**
   * Fill the socket up to half the queue limit, then come back once it has drained. What is taken is crossed off the
   * spool on disk before its bytes leave (the socket holds them until then): a crash replays none of it a second time.
   */
  private pump(): void {
    const backlog = this.backlog!;
    holdWrites(this.ws, () => {
      try {
        for (let text = backlog.peek(); text !== undefined; text = backlog.peek()) {
          if (this.ws.readyState !== this.ws.OPEN) return;
          if (this.ws.bufferedAmount > this.options.queueLimit / 2) {
            this.pumpTimer = setTimeout(() => this.pump(), REPLAY_PAUSE_MS);
            return;
          }
          // Sent synchronously, then taken: one not sent stays first, with nothing written to the spool again.
          if (!this.sendEvent(text)) return;
          backlog.shift();
        }
      } finally {
        backlog.settle();
      }
    });
  }

  /** A text frame (an event's bytes, or text). Never waits: a client whose queue is over the limit is disconnected instead. */
  private send(data: string | Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (!this.closing) {
      if (this.tooSlow) return false;
      if (this.ws.bufferedAmount + data.length > this.options.queueLimit) {
        this.dropTooSlow();
        return false;
      }
    }
    batchWrites(this.ws);
    this.ws.send(data, { binary: false });
    return true;
  }

  private dropTooSlow(): void {
    this.tooSlow = true;
    this.lastError = `too slow: over ${this.options.queueLimit} bytes waiting`;
    this.log.warn(
      `${this.label}: too slow, over ${this.options.queueLimit} bytes waiting to be sent; disconnecting (close ${CLOSE_TOO_SLOW})`,
    );
    void this.close(CLOSE_TOO_SLOW, 'too slow: outbound queue full');
  }
}
