// The one link to the OneBot implementation, whatever transport carries it.

import { closeText } from '../dial.ts';
import type { SelfId } from '../onebot.ts';

export interface LinkDown {
  /** Which side ended the link. */
  by: 'implementation' | 'relay' | 'network';
  code?: number;
  reason: string;
  /** When (ISO time); the hub fills it in. */
  at?: string;
}

/** What a link reports to: the account it carries. */
export interface UpstreamSink {
  /** The link can carry calls; `selfId` when the transport tells it (X-Self-ID). */
  linkUp(selfId?: SelfId): void;
  linkDown(down: LinkDown): void;
  /** The socket that carried calls was replaced while the link stays up: calls sent on it are lost. */
  callsLost(): void;
  /**
   * One frame from the implementation, as received; false when it is neither an event nor a reply. `handle` runs
   * what an event sets off (fan-out, buffers, spool): at once, unless the link puts it off (see HttpLink).
   */
  frame(data: Buffer, handle?: (work: () => void) => void): boolean;
}

/** What an account sees of the link that carries it. */
export interface LinkPort {
  /** Where it connects or listens, safe to log. */
  readonly target: string;
  /** Why the latest attempt to reach the implementation failed, while it is failing. */
  readonly problem: string | undefined;
  /** Send one action frame; false when the link is not up. */
  send(frame: string | Buffer): boolean;
  /** The link is dead: drop it at once (no polite close) and reconnect. */
  kill(why: string): void;
}

/** Gives a link the sink of each account it carries. */
export interface LinkHost {
  /** The account `link` carries; `selfId` when the transport names it before any frame (X-Self-ID). */
  attach(link: LinkPort, selfId?: SelfId): UpstreamSink;
}

/** One configured upstream: a dialled link (one account), or a listener (any number of implementations). */
export interface Upstream {
  /** Where it connects or listens, safe to log. */
  readonly target: string;
  /** Dial, or start listening (rejects with a ListenError when it cannot). */
  start(): Promise<void>;
  /** Close it for good; `why` is what it reports as the reason. */
  stop(why?: string): Promise<void>;
}

/** Say who ended a WebSocket link and how, for logs and /healthz. */
export function describeClose(code: number, reason: string, killedFor: string | undefined, lastError?: string): LinkDown {
  if (killedFor) return { by: 'relay', code, reason: `closed by the relay: ${killedFor}` };
  if (code === 1006) {
    return { by: 'network', code, reason: `connection lost without a close frame (1006)${lastError ? `: ${lastError}` : ''}` };
  }
  return { by: 'implementation', code, reason: `closed by the implementation with ${closeText(code, reason)}` };
}

/** X-Self-ID as the implementation sent it: a number when it is one. */
export function parseSelfId(header: string | undefined): SelfId | undefined {
  if (!header) return undefined;
  return /^\d{1,15}$/.test(header) ? Number(header) : header;
}
