// What every alert channel is, and what the HTTP ones share: one JSON POST, the service's own answer checked
// (robots answer HTTP 200 with an error code in the body), and errors that never carry a key or a token.
import { fetchFailure } from '../../fetch-failure.ts';
import type { Alert } from '../alert.ts';

export interface AlertChannel {
  /** The kind and where it goes ("dingtalk oapi.dingtalk.com"), never a key, token or password. */
  readonly label: string;
  /** Keys, tokens and passwords it holds: never shown, taken out of its error messages. */
  readonly secrets: readonly string[];
  /** Deliver one alert; rejects with a message safe to show. */
  send(alert: Alert, signal: AbortSignal): Promise<void>;
}

/** A delivery that failed, with a reason a person can act on. */
export class ChannelError extends Error {}

/** The text a chat robot posts: tagged, so that a robot's keyword filter can let it through. */
export function chatText(alert: Alert): string {
  return `[onebot-relay] ${alert.text}\n${alert.host} · ${alert.time}`;
}

/** At most `max` characters (a service refuses longer messages). */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** POST `body` as JSON; resolves with the answer parsed (undefined when empty or not JSON). */
export async function postJson(url: string, body: unknown, signal: AbortSignal, headers: Record<string, string> = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    const failure = fetchFailure(err);
    throw new ChannelError(failure.timedOut || signal.aborted ? 'no answer in time' : failure.why);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new ChannelError(`HTTP ${response.status}${text ? `: ${clip(text.trim(), 200)}` : ''}`);
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The service answered HTTP 2xx: check its own code field (`ok` is the value that means success). */
export function expectCode(answer: unknown, field: string, ok: unknown, message: string): void {
  const body = (answer ?? {}) as Record<string, unknown>;
  if (body[field] !== ok) throw new ChannelError(`${field} ${JSON.stringify(body[field])}: ${String(body[message] ?? 'no message')}`);
}
