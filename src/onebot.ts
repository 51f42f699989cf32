// OneBot v11 frame shapes as the relay sees them, and the frames the relay makes itself.
import * as v from 'valibot';

/** What the relay reads from an event (anything with a post_type: frameworks decide the same way). */
export interface EventFrame {
  post_type?: string;
  self_id?: SelfId;
  meta_event_type?: string;
  interval?: number;
  status?: unknown;
  notice_type?: string;
  sub_type?: string;
  /** bot_offline notices: why QQ kicked the account off. */
  tag?: string;
  message?: string;
}

/**
 * The fields the relay reads from an event; an odd value reads as absent (the event itself is forwarded as it came).
 * Plain checks, not a schema: this runs for every event.
 */
export function readEvent(frame: Record<string, unknown>): EventFrame {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const { self_id, interval } = frame;
  return {
    post_type: text(frame.post_type),
    self_id: typeof self_id === 'number' || typeof self_id === 'string' ? self_id : undefined,
    meta_event_type: text(frame.meta_event_type),
    interval: typeof interval === 'number' ? interval : undefined,
    status: frame.status,
    notice_type: text(frame.notice_type),
    sub_type: text(frame.sub_type),
    tag: text(frame.tag),
    message: text(frame.message),
  };
}

/** An API reply: any object without post_type (what NoneBot, Koishi and aiocqhttp assume too). */
export interface ReplyFrame {
  status?: string;
  retcode?: number;
  data?: unknown;
  echo?: unknown;
  stream?: string;
  [key: string]: unknown;
}

/**
 * Whether an object from the implementation is a reply whose status, retcode and stream, where present, are what
 * they should be. Plain checks, not a schema: this runs for every reply, and a schema's copy of the frame was a
 * third of a reply's way back to its caller.
 */
export function isReplyFrame(frame: Record<string, unknown>): frame is ReplyFrame {
  const { status, retcode, stream } = frame;
  return (
    (status === undefined || typeof status === 'string') &&
    (retcode === undefined || typeof retcode === 'number') &&
    (stream === undefined || typeof stream === 'string')
  );
}

/** A call from a client. */
export const ActionRequest = v.object({
  action: v.pipe(v.string('"action" must be a string'), v.minLength(1, '"action" must not be empty')),
  params: v.optional(v.nullable(v.record(v.string(), v.unknown(), '"params" must be an object'))),
  echo: v.optional(v.unknown()),
});
export type ActionRequest = v.InferOutput<typeof ActionRequest> & {
  /**
   * A large client frame as it came (read as its skeleton, see readJson): it goes upstream with only the echo swapped,
   * so that megabytes of params are not read or written again.
   */
  frame?: Buffer;
};

export type SelfId = number | string;

/** A JSON object (not an array, not null): what every OneBot frame, body and params must be. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Retcodes the relay answers with itself (documented in the README). */
export const RelayRetcode = {
  /** The frame is not JSON, not an object, or has no action (the spec's WS code for HTTP 400). */
  badRequest: 1400,
  /** The upstream link was down for longer than the hold time. */
  notConnected: 1502,
  /** The link died after the call was sent: it may or may not have run, and it is not resent. */
  outcomeUnknown: 1503,
  /** The implementation did not answer within the call timeout. */
  timeout: 1504,
  /** Not sent: over a send limit (overflow "reject", or its call timeout ran out while it waited its turn). */
  sendLimited: 1429,
} as const;

export function failedReply(retcode: number, message: string): Record<string, unknown> {
  return { status: 'failed', retcode, data: null, message, wording: message };
}

/** connect: a client socket is attached; enable: an HTTP POST target is served; disable: the relay stops serving it. */
export function lifecycle(selfId: SelfId, subType: 'connect' | 'enable' | 'disable'): string {
  return JSON.stringify({
    time: nowSeconds(),
    self_id: selfId,
    post_type: 'meta_event',
    meta_event_type: 'lifecycle',
    sub_type: subType,
  });
}

export function heartbeat(selfId: SelfId, status: { online: boolean; good: boolean }, interval: number): string {
  return JSON.stringify({
    time: nowSeconds(),
    self_id: selfId,
    post_type: 'meta_event',
    meta_event_type: 'heartbeat',
    status,
    interval,
  });
}

/** A NapCat stream-action frame that more frames with the same echo will follow. */
export function isStreamChunk(reply: ReplyFrame): boolean {
  const data = reply.data as { type?: unknown } | null | undefined;
  return reply.status !== 'failed' && typeof data === 'object' && data !== null && data.type === 'stream';
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
