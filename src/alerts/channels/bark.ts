// Bark (iOS push): POST {title, body, group, level} as JSON to SERVER/DEVICE_KEY (api.day.app, or a self-hosted
// bark-server). It answers code 200, or another code and message.
import * as v from 'valibot';
import { expected, Url } from '../../schema.ts';
import { type AlertChannel, expectCode, postJson } from './channel.ts';

export const entries = {
  key: v.pipe(v.string(expected('the device key Bark shows in its test URL')), v.minLength(1, 'expected a device key')),
  server: v.optional(Url(['https:', 'http:'], 'https://api.day.app'), 'https://api.day.app'),
  /** Its notification group in the app. */
  group: v.optional(v.string(expected('a group name')), 'onebot-relay'),
  /** "timeSensitive" shows through a Focus mode; "critical" rings through silent mode. */
  level: v.optional(
    v.picklist(['active', 'timeSensitive', 'passive', 'critical'], expected('"active", "timeSensitive", "passive" or "critical"')),
    'timeSensitive',
  ),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

export function create({ key, server, group, level }: Spec): AlertChannel {
  const url = `${server.replace(/\/$/, '')}/${encodeURIComponent(key)}`;
  return {
    label: `bark ${new URL(url).host}`,
    secrets: [url, key],
    async send(alert, signal) {
      const answer = await postJson(url, { title: `[onebot-relay] ${alert.title}`, body: alert.text, group, level }, signal);
      expectCode(answer, 'code', 200, 'message');
    },
  };
}
