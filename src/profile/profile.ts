// A delivery profile: what one client gets of each event, and in which shape. A client without one gets
// every event byte for byte; a profile turns an event's text into the text for its client, or drops it.
import { isUtf8 } from 'node:buffer';
import { isJsonObject } from '../onebot.ts';
import { COMPAT_FIXES, COMPAT_NAMES, type CompatFix, type Event, type FixOutcome, isMessage } from './compat.ts';
import { toCq, toSegments } from './cq-code.ts';
import { compileFilter, type EventFilter } from './event-filter.ts';

export type MessageFormat = 'array' | 'string';

/** A profile as the settings give it (names as NapCat and go-cqhttp spell them); the filter already read. */
export interface ProfileSettings {
  /** Messages as segment arrays or CQ strings; absent: as the implementation sent them. */
  messagePostFormat?: MessageFormat;
  /** go-cqhttp's event-filter syntax; meta events always pass. */
  filter?: Record<string, unknown>;
  /** false: drop message_sent and messages the account sent itself; absent: as the implementation sends. */
  reportSelfMessage?: boolean;
  /** Named fixes, applied in the order COMPAT_FIXES lists them. */
  compat?: CompatFix[];
}

/** Calls whose replies carry messages, and where: each path leads to objects with `message` or `content`. */
const REPLY_MESSAGES: Record<string, 'data' | 'data.messages'> = {
  get_msg: 'data',
  get_forward_msg: 'data.messages',
  get_group_msg_history: 'data.messages',
  get_friend_msg_history: 'data.messages',
};

export class Profile {
  /** Equal settings, equal key: an event is converted once per key, however many clients share it. */
  readonly key: string;
  private readonly filter: EventFilter | undefined;
  private readonly fixes: ((event: Event) => FixOutcome)[];

  private constructor(readonly settings: ProfileSettings) {
    this.key = JSON.stringify(settings);
    this.filter = settings.filter && compileFilter(settings.filter);
    const listed = new Set(settings.compat ?? []);
    this.fixes = COMPAT_NAMES.filter((name) => listed.has(name)).map((name) => COMPAT_FIXES[name]);
  }

  /** The profile `settings` describe, or undefined when they ask for nothing (the client gets events as sent). */
  static of(settings: ProfileSettings | undefined): Profile | undefined {
    if (!settings) return undefined;
    const { messagePostFormat, filter, reportSelfMessage, compat } = settings;
    const asked: ProfileSettings = {
      ...(messagePostFormat ? { messagePostFormat } : {}),
      ...(filter ? { filter } : {}),
      ...(reportSelfMessage === false ? { reportSelfMessage } : {}),
      ...(compat?.length ? { compat: [...new Set(compat)].sort() } : {}),
    };
    return Object.keys(asked).length ? new Profile(asked) : undefined;
  }

  /**
   * The text this profile's client gets for an event (`parsed`: its JSON, read once for every profile and
   * never changed), or undefined to drop it. Unchanged events keep their exact bytes.
   */
  event(text: string, parsed: unknown): string | undefined {
    if (!isJsonObject(parsed)) return text; // not ours to judge
    const event: Event = { ...parsed };
    if (this.settings.reportSelfMessage === false && isSelfMessage(event)) return undefined;
    let changed = false;
    for (const fix of this.fixes) {
      const outcome = fix(event);
      if (outcome === 'drop') return undefined;
      changed ||= outcome === 'changed';
    }
    if (isMessage(event) && this.reformat(event)) changed = true;
    // Filtered as the client will see it (go-cqhttp filters the message in its post format too).
    if (this.filter && event.post_type !== 'meta_event' && !this.filter(event)) return undefined;
    return changed ? JSON.stringify(event) : text;
  }

  /** Whether replies to `action` may come out of `reply` reshaped. */
  reshapesReply(action: string): boolean {
    return this.settings.messagePostFormat !== undefined && Object.hasOwn(REPLY_MESSAGES, action);
  }

  /** A reply to `action`, its messages in this profile's format (other replies as they are). */
  reply(action: string, frame: Record<string, unknown>): Record<string, unknown> {
    if (!this.reshapesReply(action) || !isJsonObject(frame.data)) return frame;
    const where = REPLY_MESSAGES[action];
    if (where === 'data') {
      const data = { ...frame.data };
      return this.reformat(data) ? { ...frame, data } : frame;
    }
    const messages = frame.data.messages;
    if (!Array.isArray(messages)) return frame;
    let changed = false;
    const converted = messages.map((item) => {
      if (!isJsonObject(item)) return item;
      const copy = { ...item };
      if (!this.reformat(copy)) return item;
      changed = true;
      return copy;
    });
    return changed ? { ...frame, data: { ...frame.data, messages: converted } } : frame;
  }

  /** `message` (and `content`, in forwarded nodes) in this profile's format; true when one changed. */
  private reformat(holder: Record<string, unknown>): boolean {
    const format = this.settings.messagePostFormat;
    if (!format) return false;
    let changed = false;
    for (const key of ['message', 'content']) {
      if (!(key in holder)) continue;
      const value = holder[key];
      const wanted = format === 'string' ? toCq(value) : toSegments(value);
      // A message that cannot take the other shape is passed as it came.
      if (wanted === undefined || wanted === value) continue;
      holder[key] = wanted;
      changed = true;
    }
    if (changed && 'message_format' in holder) holder.message_format = format;
    return changed;
  }
}

/** A message the account sent itself: message_sent, or a message whose sender is the account. */
function isSelfMessage(event: Event): boolean {
  if (event.post_type === 'message_sent') return true;
  return event.post_type === 'message' && event.user_id !== undefined && String(event.user_id) === String(event.self_id);
}

/**
 * An event's text for the clients of one profile, and the same as bytes: each made once, and only when asked for
 * (sockets take the bytes, buffers and POSTs the text), whatever the number of clients.
 */
export class EventCopy {
  private decoded: string | undefined;
  private encoded: Buffer | undefined;

  /**
   * `source`: the text, or its bytes as they arrived. Bytes are used as they are when they are valid UTF-8 and own their
   * memory, copied when they are a slice of a network read (which would stay alive while they wait in a client's
   * queue), and read as text first when they are not UTF-8.
   */
  constructor(source: string | Buffer) {
    if (typeof source === 'string') this.decoded = source;
    else if (!isUtf8(source)) this.decoded = source.toString();
    else this.encoded = source.byteOffset === 0 && source.byteLength === source.buffer.byteLength ? source : Buffer.from(source);
  }

  get text(): string {
    this.decoded ??= this.encoded!.toString();
    return this.decoded;
  }

  get bytes(): Buffer {
    this.encoded ??= Buffer.from(this.decoded!);
    return this.encoded;
  }
}

/**
 * One upstream event on its way to the clients: its JSON read at most once (the account has read it already), and
 * its copy for each profile made once, whichever endpoints and clients share that profile.
 */
export class OutgoingEvent {
  private read: boolean;
  private readonly exact: EventCopy;
  private readonly byProfile = new Map<string, EventCopy | undefined>();

  /** `event`: the event as it came (its text, or bytes, or copy); `parsed`: its JSON, when the caller has read it whole. */
  constructor(
    event: string | Buffer | EventCopy,
    private parsed?: unknown,
  ) {
    this.read = parsed !== undefined;
    this.exact = event instanceof EventCopy ? event : new EventCopy(event);
  }

  /** The text for a client with `profile` (none: the exact bytes), or undefined when it is not to get it. */
  for(profile: Profile | undefined): string | undefined {
    return this.copyFor(profile)?.text;
  }

  /** The copy for a client with `profile` (none: the exact bytes), or undefined when it is not to get it. */
  copyFor(profile: Profile | undefined): EventCopy | undefined {
    if (!profile) return this.exact;
    if (this.byProfile.has(profile.key)) return this.byProfile.get(profile.key);
    const text = this.exact.text;
    const out = profile.event(text, this.json());
    const copy = out === undefined ? undefined : out === text ? this.exact : new EventCopy(out);
    this.byProfile.set(profile.key, copy);
    return copy;
  }

  private json(): unknown {
    if (!this.read) {
      this.read = true;
      try {
        this.parsed = JSON.parse(this.exact.text);
      } catch {
        this.parsed = undefined; // passed on as it came: the relay forwards what it cannot read
      }
    }
    return this.parsed;
  }
}
