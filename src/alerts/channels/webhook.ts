// A generic JSON webhook: POST the alert itself (event, self_id, nickname, text, title, since, time, host, ...),
// or a template of the operator's in which "{{field}}" stands for a field of the alert, with extra headers.
import * as v from 'valibot';
import { expected, Url } from '../../schema.ts';
import type { Alert } from '../alert.ts';
import { type AlertChannel, postJson } from './channel.ts';

/** The fields a template may name. */
export const ALERT_FIELDS = [
  'event',
  'self_id',
  'nickname',
  'text',
  'title',
  'since',
  'time',
  'host',
  'duration_ms',
  'detail',
  'flaps',
  'reminder',
] as const;

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;

/** The "{{field}}" names in a template that an alert does not have. */
function unknownFields(template: unknown): string[] {
  const text = JSON.stringify(template) ?? '';
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((f) => !(ALERT_FIELDS as readonly string[]).includes(f));
}

export const entries = {
  url: Url(['https:', 'http:'], 'https://example.com/hooks/onebot'),
  /** Any JSON value; a string that is only "{{field}}" becomes the field's own JSON value. */
  template: v.optional(
    v.pipe(
      v.unknown(),
      v.check(
        (t) => unknownFields(t).length === 0,
        (issue) => `unknown field in the template: ${unknownFields(issue.input).join(', ')} (known: ${ALERT_FIELDS.join(', ')})`,
      ),
    ),
  ),
  headers: v.optional(v.record(v.string(), v.string(), expected('an object of header names and values'))),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

/** The template with each "{{field}}" replaced by that field of the alert. */
export function fillTemplate(template: unknown, alert: Alert): unknown {
  const field = (name: string) => (alert as unknown as Record<string, unknown>)[name];
  if (typeof template === 'string') {
    const whole = /^\{\{\s*(\w+)\s*\}\}$/.exec(template);
    if (whole) return field(whole[1]!) ?? null;
    return template.replace(PLACEHOLDER, (_, name: string) => String(field(name) ?? ''));
  }
  if (Array.isArray(template)) return template.map((item) => fillTemplate(item, alert));
  if (typeof template === 'object' && template !== null) {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fillTemplate(value, alert)]));
  }
  return template;
}

export function create({ url, template, headers }: Spec): AlertChannel {
  const parsed = new URL(url);
  return {
    label: `webhook ${parsed.host}`,
    secrets: [url, ...parsed.searchParams.values(), ...Object.values(headers ?? {})],
    async send(alert, signal) {
      await postJson(url, template === undefined ? alert : fillTemplate(template, alert), signal, headers);
    },
  };
}
