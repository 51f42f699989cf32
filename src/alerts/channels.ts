// The alert channels an operator can configure: the schema of each ("type" and its own settings, plus what every
// channel has: events, grace, repeat, name), and the channel each builds.
import * as v from 'valibot';
import type { Logger } from '../log.ts';
import { expected, milliseconds, objectOf, Url } from '../schema.ts';
import { ALERT_EVENTS } from './alert.ts';
import * as bark from './channels/bark.ts';
import type { AlertChannel } from './channels/channel.ts';
import * as command from './channels/command.ts';
import * as dingtalk from './channels/dingtalk.ts';
import * as discord from './channels/discord.ts';
import * as email from './channels/email.ts';
import * as feishu from './channels/feishu.ts';
import * as serverchan from './channels/serverchan.ts';
import * as telegram from './channels/telegram.ts';
import * as webhook from './channels/webhook.ts';
import * as wecom from './channels/wecom.ts';

const common = {
  /** How the status page and the log call it (default: its type and host). */
  name: v.optional(v.pipe(v.string(expected('a name')), v.minLength(1, 'expected a name'))),
  /** The events it wants (default: all). */
  events: v.optional(
    v.array(v.picklist(ALERT_EVENTS, expected(ALERT_EVENTS.map((e) => `"${e}"`).join(', '))), expected('a list of event names')),
    [...ALERT_EVENTS],
  ),
  /** A condition must last this long before this channel hears of it, ms (default: alertGrace). */
  grace: v.optional(milliseconds(0)),
  /** While the condition lasts, tell it again this often, ms (0: once). */
  repeat: v.optional(milliseconds(0), 0),
};

const kind = <T extends string, E extends v.ObjectEntries>(type: T, entries: E) =>
  v.strictObject({ type: v.literal(type), ...common, ...entries }, objectOf('an object', `unknown setting for a ${type} channel`));

export const ChannelSchema = v.union(
  [
    // A bare URL: a generic JSON webhook (what --alert gives).
    v.pipe(
      Url(['https:', 'http:'], 'https://example.com/hooks/onebot'),
      v.transform((url) => ({ type: 'webhook' as const, url, events: [...ALERT_EVENTS], repeat: 0 })),
    ),
    v.variant(
      'type',
      [
        kind('webhook', webhook.entries),
        kind('dingtalk', dingtalk.entries),
        kind('feishu', feishu.entries),
        kind('wecom', wecom.entries),
        kind('serverchan', serverchan.entries),
        kind('bark', bark.entries),
        kind('telegram', telegram.entries),
        kind('discord', discord.entries),
        kind('email', email.entries),
        kind('command', command.entries),
      ],
      (issue) =>
        `expected "type": webhook, dingtalk, feishu, wecom, serverchan, bark, telegram, discord, email or command, got ${issue.received}`,
    ),
  ],
  expected('a webhook URL, or an object with "type"'),
);

export type ChannelSpec = v.InferOutput<typeof ChannelSchema> & { name?: string; grace?: number };

/** The channel a spec describes; `log` is for a command's output. */
export function createChannel(spec: ChannelSpec, log: Logger): AlertChannel & { retry?: false } {
  switch (spec.type) {
    case 'webhook':
      return webhook.create(spec);
    case 'dingtalk':
      return dingtalk.create(spec);
    case 'feishu':
      return feishu.create(spec);
    case 'wecom':
      return wecom.create(spec);
    case 'serverchan':
      return serverchan.create(spec);
    case 'bark':
      return bark.create(spec);
    case 'telegram':
      return telegram.create(spec);
    case 'discord':
      return discord.create(spec);
    case 'email':
      return email.create(spec);
    case 'command':
      return command.create(spec, spec.name ?? 'command', log);
  }
}
