// What an alert is: the documented event names, the body every channel is given, and its words for a person.
import { hostname } from 'node:os';
import type { SelfId } from '../onebot.ts';

export const ALERT_EVENTS = [
  'link_down',
  'link_up',
  'qq_offline',
  'qq_online',
  'degraded',
  'recovered',
  'risk_control',
  'relay_start',
  'relay_stop',
  'test',
] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** What is watched on each account; each goes through episodes of its own. */
export const CONDITIONS = {
  link: { start: 'link_down', end: 'link_up' },
  qq: { start: 'qq_offline', end: 'qq_online' },
  degraded: { start: 'degraded', end: 'recovered' },
  risk_control: { start: 'risk_control', end: 'recovered' },
} as const;
export type Condition = keyof typeof CONDITIONS;
export const CONDITION_NAMES = Object.keys(CONDITIONS) as Condition[];

export interface Alert {
  event: AlertEvent;
  self_id: SelfId | null;
  nickname: string | null;
  /** The alert in one paragraph, for a person. */
  text: string;
  /** A short headline (mail subject, push title). */
  title: string;
  /** When the condition began (ISO); for relay events and tests, when it happened. */
  since: string;
  /** When the alert was made (ISO). */
  time: string;
  /** The machine the relay runs on. */
  host: string;
  /** Recoveries: how long the condition lasted, ms. */
  duration_ms?: number;
  /** What the implementation or the link said: who closed and why, the bot_offline tag and message, ... */
  detail?: string;
  /** Times the condition began within this episode: more than 1 when it flapped. */
  flaps?: number;
  /** Sent again while the condition lasts (a channel's "repeat"). */
  reminder?: boolean;
}

/** Who an alert is about. */
export interface Subject {
  selfId: SelfId | null;
  nickname: string | null;
  /** Where its link goes, when the self_id is not known yet. */
  target: string;
}

/** One episode of a condition, as the alert about it tells it. */
export interface EpisodeReport {
  since: number;
  /** Its end (recoveries): when the condition cleared. */
  until?: number;
  flaps: number;
  detail: string;
}

const HOST = hostname();

/** The alert that a condition began (or is still on, for a reminder), or ended. */
export function conditionAlert(
  condition: Condition,
  phase: 'start' | 'end',
  subject: Subject,
  episode: EpisodeReport,
  now = Date.now(),
  reminder = false,
): Alert {
  const event = CONDITIONS[condition][phase];
  const who = accountName(subject);
  const lasting = formatDuration((episode.until ?? now) - episode.since);
  const flapped = episode.flaps > 1 ? `, flapping: began ${episode.flaps} times, each time back within the grace period` : '';
  const [title, text] =
    phase === 'start'
      ? STARTS[condition](who, `${reminder ? 'still ' : ''}for ${lasting} (since ${clock(episode.since)}${flapped})`, episode.detail)
      : ENDS[condition](who, lasting, episode.detail);
  return {
    event,
    self_id: subject.selfId,
    nickname: subject.nickname,
    title,
    text,
    since: new Date(episode.since).toISOString(),
    time: new Date(now).toISOString(),
    host: HOST,
    ...(phase === 'end' ? { duration_ms: (episode.until ?? now) - episode.since } : {}),
    ...(episode.detail ? { detail: episode.detail } : {}),
    flaps: episode.flaps,
    ...(reminder ? { reminder } : {}),
  };
}

type Words = (who: string, when: string, detail: string) => [title: string, text: string];

const STARTS: Record<Condition, Words> = {
  link: (who, when, detail) => [`${who}: upstream link down`, `The upstream link of ${who} is down ${when}: ${detail}.`],
  qq: (who, when, detail) => [`${who}: QQ offline`, `QQ account ${who} is offline ${when}: ${detail}.`],
  degraded: (who, when, detail) => [`${who}: degraded`, `${who} is connected but not working ${when}: ${detail}.`],
  risk_control: (who, when, detail) => [
    `${who}: suspected risk control`,
    `${who} looks risk-controlled (风控) ${when}: ${detail}. Sending less, or pausing the plugin that sends most, may help.`,
  ],
};

const ENDS: Record<Condition, (who: string, lasting: string, detail: string) => [string, string]> = {
  link: (who, lasting) => [`${who}: upstream link up`, `The upstream link of ${who} is back up after ${lasting} down.`],
  qq: (who, lasting) => [`${who}: QQ online`, `QQ account ${who} is back online after ${lasting} offline.`],
  degraded: (who, lasting, detail) => [`${who}: recovered`, `${who} works again after ${lasting} degraded (${detail}).`],
  risk_control: (who, lasting) => [`${who}: recovered`, `${who} sends again after ${lasting} of suspected risk control.`],
};

/** An alert that is not about an account: the relay starting or stopping, a test. */
export function relayAlert(event: 'relay_start' | 'relay_stop' | 'test', text: string, now = Date.now()): Alert {
  const titles = { relay_start: 'relay started', relay_stop: 'relay stopping', test: 'test alert' };
  const time = new Date(now).toISOString();
  return { event, self_id: null, nickname: null, title: `${HOST}: ${titles[event]}`, text, since: time, time, host: HOST };
}

/** "10001 (nickname)", or where its link goes while the account is not known. */
export function accountName({ selfId, nickname, target }: Subject): string {
  if (selfId === null) return `the account at ${target}`;
  return nickname ? `${selfId} (${nickname})` : String(selfId);
}

/** "45 s", "3 min 5 s", "2 h 10 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** The local time of day, "14:03:27": what a person reading on a phone needs. */
function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
