// ServerChan (Server酱): POST {title, desp} to https://sctapi.ftqq.com/SENDKEY.send (Turbo), or, for a ServerChan³
// key "sctp{uid}t…", to https://{uid}.push.ft07.com/send/SENDKEY.send. It answers code 0, or another code and message.
import * as v from 'valibot';
import { expected, Url } from '../../schema.ts';
import { type AlertChannel, clip, expectCode, postJson } from './channel.ts';

export const entries = {
  sendkey: v.pipe(v.string(expected('a SendKey such as "SCT…" or "sctp…"')), v.minLength(1, 'expected a SendKey')),
  /** Another server (a test's): SENDKEY.send, or send/SENDKEY.send for a ServerChan³ key, go under it. */
  server: v.optional(Url(['https:', 'http:'], 'https://sctapi.ftqq.com')),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

const SC3 = /^sctp(\d+)t/;

/** Where a SendKey posts to. */
export function serverchanUrl(sendkey: string, server?: string): string {
  const uid = SC3.exec(sendkey)?.[1];
  const base = (server ?? (uid ? `https://${uid}.push.ft07.com` : 'https://sctapi.ftqq.com')).replace(/\/$/, '');
  return `${base}/${uid ? 'send/' : ''}${encodeURIComponent(sendkey)}.send`;
}

export function create({ sendkey, server }: Spec): AlertChannel {
  const url = serverchanUrl(sendkey, server);
  return {
    label: `serverchan ${new URL(url).host}`,
    secrets: [url, sendkey],
    async send(alert, signal) {
      const desp = `${alert.text}\n\n${alert.host} · ${alert.time}${alert.detail ? `\n\n${alert.detail}` : ''}`;
      // A title holds 32 characters.
      const answer = await postJson(url, { title: clip(alert.title, 32), desp, short: clip(alert.text, 64) }, signal);
      expectCode(answer, 'code', 0, 'message');
    },
  };
}
