// Feishu / Lark custom bot (飞书自定义机器人): POST {msg_type: text} to its webhook URL (open.feishu.cn, or
// open.larksuite.com for Lark); with signature verification on, the body also carries timestamp (seconds, a
// string) and sign = base64(HMAC-SHA256(key: "timestamp\nsecret", message: empty)). It answers code 0, or another
// code and msg (19021: sign match fail or timestamp out of range).
import { createHmac } from 'node:crypto';
import * as v from 'valibot';
import { expected, Url } from '../../schema.ts';
import { type AlertChannel, ChannelError, chatText, clip, postJson } from './channel.ts';

export const entries = {
  url: Url(['https:', 'http:'], 'https://open.feishu.cn/open-apis/bot/v2/hook/…'),
  secret: v.optional(v.string(expected("the bot's signing secret"))),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

/** The sign Feishu checks, for a timestamp in seconds. */
export function feishuSign(secret: string, timestamp: number): string {
  return createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
}

export function create({ url, secret }: Spec): AlertChannel {
  return {
    label: `feishu ${new URL(url).host}`,
    secrets: [url, new URL(url).pathname.split('/').pop() ?? '', secret ?? ''],
    async send(alert, signal) {
      const timestamp = Math.floor(Date.now() / 1000);
      const signed = secret ? { timestamp: String(timestamp), sign: feishuSign(secret, timestamp) } : {};
      const answer = (await postJson(url, { ...signed, msg_type: 'text', content: { text: clip(chatText(alert), 6000) } }, signal)) as
        | { code?: number; msg?: string; StatusCode?: number }
        | undefined;
      // Older bots answer {StatusCode: 0}, newer ones {code: 0}.
      const code = answer?.code ?? answer?.StatusCode;
      if (code !== 0) throw new ChannelError(`code ${JSON.stringify(code)}: ${answer?.msg ?? 'no message'}`);
    },
  };
}
