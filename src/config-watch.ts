// Reload when the config file changes: watch its folder (editors often replace the file), debounced.
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from './log.ts';

const DEBOUNCE_MS = 300;

/** Call `changed` once things settle after the file changed, for as long as the process runs. */
export function watchConfigFile(path: string, changed: () => void, log: Logger): void {
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(changed, DEBOUNCE_MS);
    });
    watcher.on('error', (err) => log.warn(`stopped watching ${path} for changes: ${err.message}`));
    watcher.unref();
  } catch (err) {
    log.warn(`cannot watch ${path} for changes (${(err as Error).message}); reload with POST /reload instead`);
  }
}
