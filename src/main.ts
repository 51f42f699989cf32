// Entry point: parse settings, start the relay, print where everything is, stop cleanly on a signal.
// As the single executable with no flags (a double-click) it uses onebot-relay.json beside itself,
// writing it with every default the first time, and logs to onebot-relay.log there too.
import { isatty } from 'node:tty';
import pkg from '../package.json' with { type: 'json' };
import { helpText, parseCommandLine } from './cli.ts';
import { ConfigError } from './config.ts';
import { watchConfigFile } from './config-watch.ts';
import { ListenError } from './listen.ts';
import { BoundedWriter, consoleOutput, createLogger, flushConsole, type Logger } from './log.ts';
import { LOG_FILES_KEPT, RotatingFile } from './log-file.ts';
import { type Relay, startRelay } from './relay.ts';
import { type DoubleClick, executableDir, isExecutable, settingsBeside } from './standalone.ts';
import { type ConsoleReport, pauseOnFatal, prepareConsole, quickEditOn } from './windows-console.ts';

/** Shutdown must finish within this, whatever a peer does, ms. */
const SHUTDOWN_LIMIT_MS = 1_500;
/** Log lines still waiting at exit get this long to reach the console and the file, ms. */
const FLUSH_AT_EXIT_MS = 300;
/** A fatal error waits at most this long to learn whether its console window is its own (Windows), ms. */
const FATAL_PROBE_WAIT_MS = 5_000;

const executable = isExecutable();
let logFile: BoundedWriter | undefined;
/** Set when the executable started with no flags: a double-click, most likely. */
let doubleClick: DoubleClick | undefined;
/** The Windows console report, once the PowerShell child has answered (Windows with a console only). */
let consoleReport: Promise<ConsoleReport | Error> | undefined;

async function exit(code: number): Promise<never> {
  await Promise.all([flushConsole(FLUSH_AT_EXIT_MS), logFile?.flush(FLUSH_AT_EXIT_MS)]);
  process.exit(code);
}

/**
 * The relay cannot run: say so (unless the log already has), and when double-clicked on Windows keep
 * the window open until Enter, so that the message can be read. From a terminal or a service: exit at once.
 */
async function fatal(code: number, message: string | undefined): Promise<never> {
  await Promise.all([flushConsole(FLUSH_AT_EXIT_MS), logFile?.flush(FLUSH_AT_EXIT_MS)]);
  if (message) process.stderr.write(`onebot-relay: ${message}\n`);
  // consoleReport: a Windows console. Whether it is the relay's own is known once PowerShell has answered.
  const doubleClicked = doubleClick !== undefined && consoleReport !== undefined;
  const report = doubleClicked
    ? await Promise.race([consoleReport, new Promise<undefined>((r) => setTimeout(r, FATAL_PROBE_WAIT_MS))])
    : undefined;
  if (pauseOnFatal(doubleClicked, report)) {
    process.stderr.write('\nPress Enter to close this window.\n');
    await new Promise<void>((resolve) => {
      process.stdin.once('data', () => resolve());
      process.stdin.once('end', () => resolve());
      process.stdin.once('error', () => resolve());
      process.stdin.resume();
    });
  }
  process.exit(code);
}

/** Windows with a console: turn QuickEdit off (unless kept), learn whether the window is ours. */
function startConsoleProbe(keepQuickEdit: boolean): void {
  if (process.platform !== 'win32' || consoleReport) return;
  if (!isatty(0) && !isatty(1)) return; // a service or redirected: no console window to care about
  consoleReport = prepareConsole(keepQuickEdit).catch((err: Error) => err);
}

async function main(): Promise<void> {
  let argv = process.argv.slice(2);
  if (executable && argv.length === 0) {
    doubleClick = settingsBeside(executableDir());
    if (!doubleClick.error) argv = ['--config', doubleClick.path];
  }
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    startConsoleProbe(true);
    return fatal(2, err.message);
  }
  if (command.kind === 'help') return void process.stdout.write(helpText(pkg.version));
  if (command.kind === 'version') return void process.stdout.write(`${pkg.version}\n`);

  const { config, configFile } = command;
  startConsoleProbe(config.keepQuickEdit);
  let fileError: string | undefined;
  if (config.logFile) {
    try {
      logFile = new BoundedWriter(new RotatingFile(config.logFile, config.logFileSize), { name: 'log file' });
    } catch (err) {
      fileError = (err as Error).message;
    }
  }
  const log = createLogger(
    config.logLevel,
    (line) => {
      consoleOutput().write(line);
      logFile?.write(line);
    },
    config.logFormat,
  );
  log.info(`onebot-relay ${pkg.version} (Node.js ${process.versions.node}, ${process.platform}-${process.arch})`);
  if (doubleClick?.error) log.warn(`cannot write ${doubleClick.path} (${doubleClick.error}); running on the built-in defaults`);
  log.info(
    configFile
      ? `config: ${configFile}${doubleClick?.created ? ' (just written with every default: edit it, changes apply when it is saved)' : ''}`
      : 'config: none, built-in defaults (--help lists the settings)',
  );
  if (fileError) log.warn(`cannot open the log file ${config.logFile} (${fileError}); logging to the console only`);
  else if (logFile) log.info(`log file: ${config.logFile} (a new one every ${mib(config.logFileSize)}, ${LOG_FILES_KEPT} old ones kept)`);
  let relay: Relay;
  try {
    // Reloads read the same flags and config file again; invalid settings leave the running ones.
    relay = await startRelay(() => {
      const again = parseCommandLine(argv);
      return again.kind === 'run' ? again.config : config;
    }, log);
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    log.error(`cannot start: ${err.message}`);
    return fatal(1, undefined);
  }
  for (const upstream of relay.upstreams) log.info(`upstream: ${upstream.target}`);
  for (const adapter of relay.adapters) log.info(`clients: ${adapter.name}`);
  log.info(`status page: http://${relay.admin.url}/`);
  log.info(`health: http://${relay.admin.url}/healthz (also /metrics for Prometheus)`);
  log.info(`stop with Ctrl+C${process.platform === 'win32' ? ', Ctrl+Break or by closing this window' : ''}`);
  void reportConsole(log, config.keepQuickEdit);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    setTimeout(() => {
      log.warn('shutdown took too long; exiting anyway');
      void exit(0);
    }, SHUTDOWN_LIMIT_MS).unref();
    void relay.stop().then(() => exit(0));
  };
  // Ctrl+C; kill and service managers; Windows: Ctrl+Break and closing the console window (SIGHUP there).
  const windows = process.platform === 'win32';
  for (const signal of ['SIGINT', 'SIGTERM', ...(windows ? ['SIGBREAK', 'SIGHUP'] : [])] as NodeJS.Signals[]) {
    process.on(signal, () => shutdown(signal));
  }
  // POSIX: SIGHUP reloads, as daemons do.
  if (!windows) process.on('SIGHUP', () => void relay.reload());
  if (configFile) watchConfigFile(configFile, () => void relay.reload(), log);
}

async function reportConsole(log: Logger, keepQuickEdit: boolean): Promise<void> {
  const report = await consoleReport;
  if (report === undefined) return;
  if (report instanceof Error) {
    log.warn(
      `could not ${keepQuickEdit ? 'inspect' : 'turn QuickEdit off in'} this console (${report.message}); the relay runs on, but selecting text in the window pauses its console output`,
    );
    return;
  }
  if (keepQuickEdit) log.info(`QuickEdit left ${quickEditOn(report.modeBefore) ? 'on' : 'off'} (--keep-quick-edit)`);
  else log.info(`QuickEdit turned off in this console so that a stray click cannot pause the relay (--keep-quick-edit keeps it)`);
}

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

main().catch((err: Error) => fatal(1, `unexpected error: ${err.stack ?? err.message}`));
