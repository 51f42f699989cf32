// The latest warnings and errors, for the status page: a logger that remembers what it warned about.
import type { Logger } from './log.ts';

const KEPT = 50;

export interface Warning {
  time: string;
  level: 'warn' | 'error';
  scope: string;
  message: string;
}

export class RecentWarnings {
  private readonly kept: Warning[] = [];

  /** `log`, also remembering its warnings and errors (and its children's). */
  tap(log: Logger, scope = 'relay'): Logger {
    const remember = (level: 'warn' | 'error', message: string) => {
      this.kept.push({ time: new Date().toISOString(), level, scope, message });
      if (this.kept.length > KEPT) this.kept.shift();
    };
    return {
      debug: (m) => log.debug(m),
      info: (m) => log.info(m),
      warn: (m) => {
        remember('warn', m);
        log.warn(m);
      },
      error: (m) => {
        remember('error', m);
        log.error(m);
      },
      child: (child) => this.tap(log.child(child), child),
      configure: (level, format) => log.configure(level, format),
    };
  }

  /** Newest first. */
  list(): Warning[] {
    return [...this.kept].reverse();
  }
}
