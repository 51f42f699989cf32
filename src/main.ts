// Entry point: parse settings, start the relay, print where everything is, stop cleanly on a signal.
import pkg from '../package.json' with { type: 'json' };
import { helpText, parseCommandLine } from './cli.ts';
import { ConfigError } from './config.ts';
import { ListenError } from './listen.ts';
import { createLogger } from './log.ts';
import { startRelay } from './relay.ts';

/** Shutdown must finish within this, whatever a peer does, ms. */
const SHUTDOWN_LIMIT_MS = 1_800;

async function main(): Promise<void> {
  let command;
  try {
    command = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`onebot-relay: ${err.message}\n`);
    process.exit(2);
  }
  if (command.kind === 'help') return void process.stdout.write(helpText(pkg.version));
  if (command.kind === 'version') return void process.stdout.write(`${pkg.version}\n`);

  const { config, configFile } = command;
  const log = createLogger(config.logLevel);
  log.info(`onebot-relay ${pkg.version}${configFile ? ` with ${configFile}` : ''}`);
  let relay;
  try {
    relay = await startRelay(config, log);
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    log.error(err.message);
    process.exit(1);
  }
  log.info(`upstream: ${relay.hub.upstream.target}`);
  for (const adapter of relay.adapters) log.info(`clients: ${adapter.name}`);
  log.info(`status: http://${relay.admin.url}/healthz`);
  log.info('stop with Ctrl+C');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    setTimeout(() => {
      log.warn('shutdown took too long; exiting anyway');
      process.exit(0);
    }, SHUTDOWN_LIMIT_MS).unref();
    void relay.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
