// A local command (restart NapCat, say), run once per alert it wants, with the alert in its environment and
// its output in the log; stopped when it runs past its timeout. --on-unhealthy is one of these.
import { spawn } from 'node:child_process';
import * as v from 'valibot';
import type { Logger } from '../../log.ts';
import { expected, milliseconds } from '../../schema.ts';
import type { Alert } from '../alert.ts';
import { type AlertChannel, ChannelError } from './channel.ts';

export const entries = {
  command: v.pipe(v.string(expected('a command line')), v.minLength(1, 'expected a command line')),
  /** A run taking longer is stopped, ms. */
  timeout: v.optional(milliseconds(100), 60_000),
};
type Spec = v.InferOutput<v.ObjectSchema<typeof entries, undefined>>;

/** A command still running this long after SIGTERM gets SIGKILL, ms. */
const KILL_AFTER_MS = 5000;

/** What the account's health is during each event (ONEBOT_RELAY_HEALTH, as --on-unhealthy has always said). */
const HEALTH: Partial<Record<Alert['event'], string>> = {
  link_down: 'down',
  qq_offline: 'degraded',
  degraded: 'degraded',
  risk_control: 'degraded',
  link_up: 'up',
  qq_online: 'up',
  recovered: 'up',
};

/** `name`: how the log calls it (its lines, its runs). */
export function create({ command, timeout }: Spec, name: string, log: Logger): AlertChannel & { retry: false } {
  return {
    label: name,
    secrets: [],
    // Running a command again is what "repeat" is for: a failed run is shown, not retried.
    retry: false,
    send: (alert) => run(command, alert, { name, timeout, log }),
  };
}

function run(command: string, alert: Alert, { name, timeout, log }: { name: string; timeout: number; log: Logger }): Promise<void> {
  log.warn(`${alert.text} Running ${name}.`);
  const child = spawn(command, {
    shell: true,
    env: {
      ...process.env,
      ONEBOT_RELAY_EVENT: alert.event,
      ONEBOT_RELAY_HEALTH: HEALTH[alert.event] ?? '',
      ONEBOT_RELAY_REASON: alert.detail ?? alert.text,
      ONEBOT_RELAY_SELF_ID: String(alert.self_id ?? ''),
      ONEBOT_RELAY_TEXT: alert.text,
      ONEBOT_RELAY_SINCE: alert.since,
      ONEBOT_RELAY_ALERT: JSON.stringify(alert),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
    // Its own process group, so that a timeout stops the command and not only the shell around it.
    detached: process.platform !== 'win32',
  });
  for (const stream of [child.stdout, child.stderr]) {
    // Whole lines only: a chunk can end in the middle of one (or of a UTF-8 character).
    let partial = '';
    const logLine = (line: string) => line.trim() && log.info(`${name}: ${line}`);
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop()!;
      lines.forEach(logLine);
    });
    stream.on('end', () => logLine(partial));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      log.warn(`${name} still running after ${timeout} ms: stopping it`);
      stopTree(child.pid, 'SIGTERM');
      // Whatever ignores SIGTERM gets SIGKILL, even once the shell around it has ended.
      setTimeout(() => stopTree(child.pid, 'SIGKILL'), KILL_AFTER_MS);
    }, timeout);
    let done = false;
    const finish = (how: string, ok: boolean) => {
      if (done) return; // 'error' and 'exit' can both come
      done = true;
      clearTimeout(timer);
      log.info(`${name} ${how}`);
      if (ok) resolve();
      else reject(new ChannelError(how));
    };
    child.on('error', (err) => finish(`could not start: ${err.message}`, false));
    child.on('exit', (code, signal) => finish(signal ? `ended by ${signal}` : `exited with code ${code}`, code === 0));
  });
}

/** Stop a command and whatever it started. */
function stopTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    if (process.platform === 'win32') spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' });
    else process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
