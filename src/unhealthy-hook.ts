// --on-unhealthy: run the operator's command (restart NapCat, say) when the bot stays degraded or down,
// never more often than the cooldown, with the reason in its environment and its output in the log.
import { spawn } from 'node:child_process';
import type { Health } from './hub.ts';
import type { Logger } from './log.ts';

export interface HookOptions {
  /** None: the hook is off. */
  command: string;
  /** Unhealthy this long before the command runs, ms. */
  grace: number;
  /** Least time from the end of one run to the start of the next, ms. */
  cooldown: number;
  /** A run taking longer is stopped, ms. */
  timeout: number;
}

/** What the hook reads of the health. */
export type HookHealth = Pick<Health, 'status' | 'reason' | 'self_id'>;

export class UnhealthyHook {
  private unhealthySince: number | undefined;
  /** When the last run ended. */
  private lastRun = -Infinity;
  private running = false;

  constructor(
    private options: HookOptions,
    private readonly log: Logger,
  ) {}

  /** New settings (a reload): the cooldown still counts from the last run. */
  configure(options: HookOptions): void {
    this.options = options;
  }

  /** Look at the health now (the relay calls this every second). */
  check(health: HookHealth): void {
    const now = Date.now();
    if (health.status === 'up' || !this.options.command) {
      this.unhealthySince = undefined;
      return;
    }
    this.unhealthySince ??= now;
    if (this.running || now - this.unhealthySince < this.options.grace || now - this.lastRun < this.options.cooldown) return;
    this.run(health);
  }

  private run(health: HookHealth): void {
    this.running = true;
    const reason = health.reason ?? health.status;
    this.log.warn(
      `health ${health.status} for ${Math.round((Date.now() - this.unhealthySince!) / 1000)} s (${reason}): running --on-unhealthy`,
    );
    const child = spawn(this.options.command, {
      shell: true,
      env: {
        ...process.env,
        ONEBOT_RELAY_HEALTH: health.status,
        ONEBOT_RELAY_REASON: reason,
        ONEBOT_RELAY_SELF_ID: String(health.self_id ?? ''),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      // Its own process group, so that a timeout stops the command and not only the shell around it.
      detached: process.platform !== 'win32',
    });
    for (const stream of [child.stdout, child.stderr]) {
      // Whole lines only: a chunk can end in the middle of one (or of a UTF-8 character).
      let partial = '';
      const logLine = (line: string) => line.trim() && this.log.info(`--on-unhealthy: ${line}`);
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const lines = (partial + text).split(/\r?\n/);
        partial = lines.pop()!;
        lines.forEach(logLine);
      });
      stream.on('end', () => logLine(partial));
    }
    const { timeout } = this.options;
    const timer = setTimeout(() => {
      this.log.warn(`--on-unhealthy still running after ${timeout} ms: stopping it`);
      stopTree(child.pid, 'SIGTERM');
      // Whatever ignores SIGTERM gets SIGKILL, even once the shell around it has ended: it must neither
      // keep running nor keep the hook from ever running again.
      setTimeout(() => stopTree(child.pid, 'SIGKILL'), KILL_AFTER_MS);
    }, timeout);
    const done = (how: string) => {
      if (!this.running) return; // 'error' and 'exit' can both come
      clearTimeout(timer);
      this.running = false;
      this.lastRun = Date.now(); // a command that fails at once must not run again at once
      this.log.info(`--on-unhealthy ${how}; next run no sooner than ${Math.round(this.options.cooldown / 1000)} s from now`);
    };
    child.on('error', (err) => done(`could not start: ${err.message}`));
    child.on('exit', (code, signal) => done(signal ? `ended by ${signal}` : `exited with code ${code}`));
  }
}

/** A command still running this long after SIGTERM gets SIGKILL, ms. */
const KILL_AFTER_MS = 5000;

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
