// Email over SMTP (nodemailer): implicit TLS ("tls", port 465), STARTTLS required ("starttls", port 587, the
// default), or plain ("none", port 25, for a relay on the same host). Subject: the alert's title; body: its text.
import { readFileSync } from 'node:fs';
import type { Transporter } from 'nodemailer';
import * as v from 'valibot';
import { expected } from '../../schema.ts';
import { type AlertChannel, ChannelError } from './channel.ts';

const address = v.pipe(
  v.string(expected('an email address')),
  v.regex(/^[^\s@]+@[^\s@]+$/, expected('an email address such as "bot@example.com"')),
);

export const entries = {
  host: v.pipe(v.string(expected('the SMTP server, such as "smtp.qq.com"')), v.minLength(1, 'expected the SMTP server')),
  port: v.optional(
    v.pipe(
      v.number(expected('a port')),
      v.integer(expected('a port')),
      v.minValue(1, 'expected a port'),
      v.maxValue(65535, 'expected a port'),
    ),
  ),
  security: v.optional(v.picklist(['starttls', 'tls', 'none'], expected('"starttls", "tls" or "none"')), 'starttls'),
  user: v.optional(v.string(expected('the SMTP user name'))),
  pass: v.optional(v.string(expected('the SMTP password (or app password / 授权码)'))),
  from: address,
  to: v.union(
    [address, v.pipe(v.array(address), v.minLength(1, 'expected at least one address'))],
    expected('an email address or a list of them'),
  ),
  /** A PEM file with the CA that signed the server's certificate (a private mail server). */
  ca: v.optional(v.string(expected('a PEM file path'))),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

const DEFAULT_PORT = { tls: 465, starttls: 587, none: 25 };
/** Each SMTP step's limit, ms. */
const STEP_MS = 10_000;

export function create({ host, port, security, user, pass, from, to, ca }: Spec): AlertChannel {
  // nodemailer (and the TLS, DNS and mail modules it loads) only once there is mail to send: not at every start.
  let transport: Promise<Transporter> | undefined;
  const tls = ca ? { tls: { ca: readFileSync(ca) } } : {};
  const connect = async () =>
    (await import('nodemailer')).default.createTransport({
      host,
      port: port ?? DEFAULT_PORT[security],
      secure: security === 'tls',
      requireTLS: security === 'starttls',
      ignoreTLS: security === 'none',
      ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
      ...tls,
      connectionTimeout: STEP_MS,
      greetingTimeout: STEP_MS,
      socketTimeout: STEP_MS,
    });
  return {
    label: `email ${host}:${port ?? DEFAULT_PORT[security]}`,
    secrets: [pass ?? ''],
    async send(alert, signal) {
      const text = [
        alert.text,
        '',
        `event: ${alert.event}`,
        ...(alert.self_id === null ? [] : [`account: ${alert.self_id}${alert.nickname ? ` (${alert.nickname})` : ''}`]),
        `since: ${alert.since}`,
        ...(alert.detail ? [`detail: ${alert.detail}`] : []),
        `host: ${alert.host}`,
        `time: ${alert.time}`,
      ].join('\n');
      transport ??= connect();
      const sent = transport.then((mailer) => mailer.sendMail({ from, to, subject: `[onebot-relay] ${alert.title}`, text }));
      const aborted = new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(new ChannelError('no answer in time')), { once: true }),
      );
      try {
        await Promise.race([sent, aborted]);
      } catch (err) {
        throw err instanceof ChannelError ? err : new ChannelError((err as Error).message);
      }
    },
  };
}
