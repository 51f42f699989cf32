// WeCom group robot (企业微信群机器人): POST {msgtype: text} to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY.
// It answers errcode 0, or another errcode and errmsg. A text holds up to 2,048 bytes.
import type * as v from 'valibot';
import { Url } from '../../schema.ts';
import { type AlertChannel, chatText, clip, expectCode, postJson } from './channel.ts';

export const entries = {
  url: Url(['https:', 'http:'], 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…'),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

export function create({ url }: Spec): AlertChannel {
  return {
    label: `wecom ${new URL(url).host}`,
    secrets: [url, new URL(url).searchParams.get('key') ?? ''],
    async send(alert, signal) {
      // 2,048 bytes: Chinese text takes 3 bytes a character.
      const answer = await postJson(url, { msgtype: 'text', text: { content: clip(chatText(alert), 650) } }, signal);
      expectCode(answer, 'errcode', 0, 'errmsg');
    },
  };
}
