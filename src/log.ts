// Leveled, scoped logger writing readable lines to a sink (stdout unless told otherwise).
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(scope: string): Logger;
}

export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => void process.stdout.write(line + '\n');

export function createLogger(level: Level, sink: LogSink = stdoutSink, scope = 'relay'): Logger {
  const min = LEVELS.indexOf(level);
  const at = (lvl: Level) => (message: string) => {
    if (LEVELS.indexOf(lvl) < min) return;
    sink(`${timestamp()} ${lvl.toUpperCase().padEnd(5)} [${scope}] ${message}`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (child) => createLogger(level, sink, child),
  };
}

function timestamp(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Hide credentials in a URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of ['access_token', 'token']) if (u.searchParams.has(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return url;
  }
}
