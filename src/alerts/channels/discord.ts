// Discord webhook: POST {content} to https://discord.com/api/webhooks/ID/TOKEN; it answers 204 No Content. A
// content holds up to 2,000 characters. Mentions are switched off: a nickname or a reason must not ping anyone.
import type * as v from 'valibot';
import { Url } from '../../schema.ts';
import { type AlertChannel, chatText, clip, postJson } from './channel.ts';

export const entries = {
  url: Url(['https:', 'http:'], 'https://discord.com/api/webhooks/…/…'),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

export function create({ url }: Spec): AlertChannel {
  return {
    label: `discord ${new URL(url).host}`,
    secrets: [url, new URL(url).pathname.split('/').pop() ?? ''],
    async send(alert, signal) {
      await postJson(url, { content: clip(chatText(alert), 2000), username: 'onebot-relay', allowed_mentions: { parse: [] } }, signal);
    },
  };
}
