// DingTalk custom robot (钉钉自定义机器人): POST {msgtype: text} to its webhook URL; with "加签" (sign) on, the URL
// also carries timestamp (ms) and sign = base64(HMAC-SHA256(key: secret, "timestamp\nsecret")). It answers HTTP 200
// with errcode 0, or another errcode and errmsg ("sign not match", a keyword missing, too many messages).
import { createHmac } from 'node:crypto';
import * as v from 'valibot';
import { expected, Url } from '../../schema.ts';
import { type AlertChannel, chatText, clip, expectCode, postJson } from './channel.ts';

export const entries = {
  url: Url(['https:', 'http:'], 'https://oapi.dingtalk.com/robot/send?access_token=…'),
  secret: v.optional(v.string(expected('the robot\'s "SEC…" signing secret'))),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

/** The sign DingTalk checks, for a timestamp in ms. */
export function dingtalkSign(secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

export function create({ url, secret }: Spec): AlertChannel {
  const token = new URL(url).searchParams.get('access_token') ?? '';
  return {
    label: `dingtalk ${new URL(url).host}`,
    secrets: [url, token, secret ?? ''],
    async send(alert, signal) {
      const target = new URL(url);
      if (secret) {
        const timestamp = Date.now();
        target.searchParams.set('timestamp', String(timestamp));
        target.searchParams.set('sign', dingtalkSign(secret, timestamp));
      }
      // A text message holds up to 20,000 bytes.
      const answer = await postJson(target.toString(), { msgtype: 'text', text: { content: clip(chatText(alert), 6000) } }, signal);
      expectCode(answer, 'errcode', 0, 'errmsg');
    },
  };
}
