// Telegram Bot API: POST {chat_id, text} to SERVER/bot<TOKEN>/sendMessage (api.telegram.org, or a local Bot API
// server). It answers {ok: true}, or {ok: false, description}. A text holds up to 4,096 characters.
import * as v from 'valibot';
import { expected, Url } from '../../schema.ts';
import { type AlertChannel, chatText, clip, expectCode, postJson } from './channel.ts';

export const entries = {
  token: v.pipe(v.string(expected('the bot token from @BotFather')), v.minLength(1, 'expected a bot token')),
  chatId: v.union([v.string(), v.number()], expected('a chat id such as 123456789 or "@channelname"')),
  server: v.optional(Url(['https:', 'http:'], 'https://api.telegram.org'), 'https://api.telegram.org'),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

export function create({ token, chatId, server }: Spec): AlertChannel {
  const url = `${server.replace(/\/$/, '')}/bot${token}/sendMessage`;
  return {
    label: `telegram ${new URL(url).host}`,
    secrets: [url, token],
    async send(alert, signal) {
      const answer = await postJson(url, { chat_id: chatId, text: clip(chatText(alert), 4096), disable_web_page_preview: true }, signal);
      expectCode(answer, 'ok', true, 'description');
    },
  };
}
