// Running as the single executable (dist/onebot-relay-*): what a double-click with no flags does.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULTS } from './config.ts';

/** The settings file a double-clicked executable reads, beside itself. */
export const CONFIG_NAME = 'onebot-relay.json';
/** The log file it writes there, named in that settings file. */
export const LOG_NAME = 'onebot-relay.log';
/** The spool folder beside the config file, when neither it nor a flag names another. */
export const SPOOL_NAME = 'spool';

/** True when running as the single executable, false when run from source by Node. */
export function isExecutable(): boolean {
  try {
    const sea = process.getBuiltinModule?.('node:sea') as typeof import('node:sea') | undefined;
    return sea?.isSea?.() ?? false;
  } catch {
    return false;
  }
}

/** Every setting with its default, as a double-clicked executable writes it: the log file and the spool on. */
function defaultSettingsText(): string {
  return `${JSON.stringify({ ...DEFAULTS, logFile: LOG_NAME, spool: SPOOL_NAME }, null, 2)}\n`;
}

export interface DoubleClick {
  /** The settings file beside the executable. */
  path: string;
  /** It was written just now. */
  created: boolean;
  /** Why it could not be written, if so (the relay then runs on its built-in defaults). */
  error?: string;
}

/** Use (and, the first time, write) the settings file in `dir`. */
export function settingsBeside(dir: string): DoubleClick {
  const path = join(dir, CONFIG_NAME);
  if (existsSync(path)) return { path, created: false };
  try {
    writeFileSync(path, defaultSettingsText(), { flag: 'wx' });
    return { path, created: true };
  } catch (err) {
    return { path, created: false, error: (err as Error).message };
  }
}

/** The folder holding the executable. */
export function executableDir(): string {
  return dirname(process.execPath);
}
