// OneBot v11 messages in their two shapes: segment arrays and CQ-code strings, converted both ways.
// In text `&` `[` `]` are written `&amp;` `&#91;` `&#93;`; in parameter values `,` is also written `&#44;`.

export interface Segment {
  type: string;
  data: Record<string, unknown>;
}

/**
 * A segment type or parameter name: no spaces (the spec forbids them) and none of the characters that
 * delimit a CQ code, which names are never escaped for.
 */
const NAME = '[^\\s,=&[\\]]+';
const IS_NAME = new RegExp(`^${NAME}$`);
/** One CQ code: `[CQ:type]` or `[CQ:type,key=value,...]`; a value holds no raw `,` `[` `]`. */
const CQ_CODE = new RegExp(`\\[CQ:(${NAME})((?:,${NAME}=[^,[\\]]*)*)\\]`, 'g');

const ESCAPES: Record<string, string> = { '&': '&amp;', '[': '&#91;', ']': '&#93;', ',': '&#44;' };
const UNESCAPES: Record<string, string> = { '&amp;': '&', '&#91;': '[', '&#93;': ']', '&#44;': ',' };

const escapeText = (text: string): string => text.replace(/[&[\]]/g, (c) => ESCAPES[c]!);
const escapeValue = (value: string): string => value.replace(/[&[\],]/g, (c) => ESCAPES[c]!);
/**
 * One pass, so that `&amp;#91;` reads as `&#91;` (not `[`). A `&` that starts no escape stays as it is, and
 * `&#44;` is read in text too: some implementations escape commas everywhere.
 */
const unescapeCq = (text: string): string => text.replace(/&(?:amp|#91|#93|#44);/g, (e) => UNESCAPES[e]!);

/**
 * The segments a CQ string stands for. Anything that is not a well-formed CQ code (a raw bracket inside a
 * value, a parameter without `=`, a repeated parameter, spaces in a name...) is text: nothing is dropped.
 */
export function parseCq(message: string): Segment[] {
  const segments: Segment[] = [];
  let at = 0;
  for (const match of message.matchAll(CQ_CODE)) {
    const data = paramsOf(match[2]!);
    if (!data) continue; // stays in the text around it
    pushText(segments, message.slice(at, match.index));
    segments.push({ type: match[1]!, data });
    at = match.index + match[0].length;
  }
  pushText(segments, message.slice(at));
  return segments;
}

/**
 * The CQ string of `segments`, or undefined when they cannot be one: a segment that is not a
 * `{type, data}` object, or a type or parameter name a CQ code cannot carry. Values become strings:
 * numbers and booleans as written in JSON, objects as their JSON; null and absent values are left out.
 */
export function toCqString(segments: readonly unknown[]): string | undefined {
  let out = '';
  for (const segment of segments) {
    const written = cqOf(segment);
    if (written === undefined) return undefined;
    out += written;
  }
  return out;
}

/** A message as a segment array: a CQ string parsed, a single segment wrapped; undefined when it is neither. */
export function toSegments(message: unknown): unknown[] | undefined {
  if (typeof message === 'string') return parseCq(message);
  if (Array.isArray(message)) return message;
  if (isSegment(message)) return [message];
  return undefined;
}

/** A message as a CQ string: segments serialized; undefined when it cannot be written as one. */
export function toCq(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return toCqString(message);
  if (isSegment(message)) return toCqString([message]);
  return undefined;
}

function cqOf(segment: unknown): string | undefined {
  if (!isSegment(segment)) return undefined;
  const data = segment.data ?? {};
  const keys = Object.keys(data);
  if (segment.type === 'text' && keys.length === 1 && typeof data.text === 'string') return escapeText(data.text);
  if (!IS_NAME.test(segment.type)) return undefined;
  let code = `[CQ:${segment.type}`;
  for (const key of keys) {
    const value = valueText(data[key]);
    if (value === undefined) continue;
    if (!IS_NAME.test(key)) return undefined;
    code += `,${key}=${escapeValue(value)}`;
  }
  return `${code}]`;
}

function valueText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function isSegment(value: unknown): value is { type: string; data?: Record<string, unknown> | null } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { type, data } = value as { type?: unknown; data?: unknown };
  return typeof type === 'string' && (data === undefined || data === null || (typeof data === 'object' && !Array.isArray(data)));
}

/** `,k=v,k=v` as data, or undefined when a key repeats (an object cannot hold both values). */
function paramsOf(params: string): Record<string, string> | undefined {
  const pairs = params
    .split(',')
    .slice(1)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), unescapeCq(pair.slice(eq + 1))] as const;
    });
  const data = Object.fromEntries(pairs); // own keys even for "__proto__"
  return Object.keys(data).length === pairs.length ? data : undefined;
}

function pushText(segments: Segment[], escaped: string): void {
  if (escaped) segments.push({ type: 'text', data: { text: unescapeCq(escaped) } });
}
