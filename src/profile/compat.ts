// Named fixes for known implementation quirks that break frameworks, each off unless a profile lists it.
// A fix reads one event (a shallow copy it may change at the top level) and says what it did.

export type Event = Record<string, unknown>;

/** changed: it rewrote a field; drop: the client must not get this event; undefined: nothing to do. */
export type FixOutcome = 'changed' | 'drop' | undefined;

export const isMessage = (event: Event) => event.post_type === 'message' || event.post_type === 'message_sent';
const DECIMAL = /^-?\d{1,16}$/;

/** Notices of OneBot v11, and go-cqhttp's documented additions, which frameworks model. */
const STANDARD_NOTICES = new Set([
  'group_upload',
  'group_admin',
  'group_decrease',
  'group_increase',
  'group_ban',
  'friend_add',
  'group_recall',
  'friend_recall',
  // go-cqhttp's
  'group_card',
  'offline_file',
  'client_status',
  'essence',
]);
/** notify sub_types of OneBot v11 (poke, lucky_king, honor) and go-cqhttp (title). */
const STANDARD_NOTIFY = new Set(['poke', 'lucky_king', 'honor', 'title']);

export const COMPAT_FIXES = {
  /** lc-cn/onebots#168: a string font. NoneBot2's MessageEvent wants an integer: with a font name the message reaches no handler. */
  numericFont(event) {
    if (!isMessage(event) || !('font' in event) || Number.isInteger(event.font)) return undefined;
    event.font = typeof event.font === 'string' && DECIMAL.test(event.font) ? Number(event.font) : 0;
    return 'changed';
  },
  /** NapCatQQ#184: a poke notice whose raw_message is NapCat's list of parts; raw_message is a CQ string. */
  stringRawMessage(event) {
    if (!('raw_message' in event) || typeof event.raw_message === 'string') return undefined;
    const raw = event.raw_message;
    if (!('raw_info' in event)) event.raw_info = raw;
    event.raw_message = partsText(raw);
    return 'changed';
  },
  /** NapCatQQ#234: NapCat's own notices (input_status, profile_like, ...); NoneBot2 cannot parse a private input_status. */
  dropNonStandardNotices(event) {
    if (event.post_type !== 'notice') return undefined;
    const standard =
      event.notice_type === 'notify' ? STANDARD_NOTIFY.has(String(event.sub_type)) : STANDARD_NOTICES.has(String(event.notice_type));
    return standard ? undefined : 'drop';
  },
  /** OneBot v11 types these as int64; an implementation that sends decimal strings breaks number-typed clients. */
  integerIds(event) {
    let outcome: FixOutcome;
    for (const key of ['time', 'self_id', 'user_id', 'group_id']) {
      const value = event[key];
      if (typeof value !== 'string' || !DECIMAL.test(value) || !Number.isSafeInteger(Number(value))) continue;
      event[key] = Number(value);
      outcome = 'changed';
    }
    return outcome;
  },
} satisfies Record<string, (event: Event) => FixOutcome>;

export type CompatFix = keyof typeof COMPAT_FIXES;
export const COMPAT_NAMES = Object.keys(COMPAT_FIXES) as CompatFix[];

/**
 * A raw_message that is not a string, as one: NapCat's parts read as their text (`nm` nicknames, `txt`
 * words), anything else as its JSON.
 */
function partsText(raw: unknown): string {
  if (Array.isArray(raw) && raw.every((p) => typeof p === 'object' && p !== null)) {
    const parts = raw as { txt?: unknown; nm?: unknown }[];
    return parts.map((p) => (typeof p.txt === 'string' ? p.txt : typeof p.nm === 'string' ? p.nm : '')).join('');
  }
  return JSON.stringify(raw) ?? '';
}
