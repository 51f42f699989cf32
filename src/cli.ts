// Command-line flags: each maps to one setting of the config file; flags win over the file.
import { dirname, resolve } from 'node:path';
import { type Config, ConfigError, DEFAULTS, readConfigFile, validateConfig } from './config.ts';
import { SPOOL_NAME } from './standalone.ts';

type Key = keyof typeof DEFAULTS;

interface Flag {
  key: Key;
  arg: string;
  help: string;
  /** Given more than once, it is a list (the setting also takes one value). */
  repeatable?: boolean;
  /** It sets this key of an object setting (the config file's other keys of it stay). */
  sub?: string;
  /** Its values come after the config file's list instead of replacing it. */
  appends?: boolean;
}

const FLAGS: Record<string, Flag> = {
  '--upstream': {
    key: 'upstream',
    arg: 'URL',
    help: "the implementation's forward WebSocket server (ws://) or HTTP API (http://); repeat for several accounts",
    repeatable: true,
  },
  '--upstream-listen': {
    key: 'upstreamListen',
    arg: 'HOST:PORT',
    help: 'instead, let the implementation dial the relay by reverse WebSocket here',
  },
  '--upstream-post-listen': { key: 'upstreamPostListen', arg: 'HOST:PORT', help: 'with an http:// upstream: receive its event POSTs here' },
  '--upstream-token': { key: 'upstreamToken', arg: 'TOKEN', help: 'access token between the implementation and the relay (Bearer)' },
  '--upstream-secret': { key: 'upstreamSecret', arg: 'SECRET', help: 'verify X-Signature of event POSTs with this key' },
  '--ws': { key: 'ws', arg: 'HOST:PORT', help: 'serve clients over WebSocket here (repeatable): / universal, /api, /event' },
  '--reverse': { key: 'reverse', arg: 'URL', help: "dial a framework's reverse WebSocket server (repeatable)" },
  '--http': { key: 'http', arg: 'HOST:PORT', help: 'serve the OneBot HTTP API here (repeatable)' },
  '--post': { key: 'post', arg: 'URL', help: "POST every event to a framework's webhook (repeatable)" },
  '--token': { key: 'token', arg: 'TOKEN', help: 'access token for clients: checked on --ws and --http, sent to --reverse' },
  '--allow-origin': {
    key: 'allowOrigins',
    arg: 'ORIGIN',
    help: 'web pages from this origin (https://host[:port]) may use the endpoints (repeatable; "*": any page, warned)',
  },
  '--allow-host': {
    key: 'allowHosts',
    arg: 'NAME',
    help: 'a host name the admin endpoint and --http answer to, besides IP addresses and localhost (repeatable)',
  },
  '--secret': { key: 'secret', arg: 'SECRET', help: 'sign --post requests with X-Signature (HMAC-SHA1)' },
  '--heartbeat': { key: 'heartbeat', arg: 'MS', help: 'interval of the heartbeat events the relay sends each client' },
  '--admin': { key: 'admin', arg: 'HOST:PORT', help: 'admin endpoint: status page, /healthz, /metrics, POST /reload' },
  '--admin-token': { key: 'adminToken', arg: 'TOKEN', help: 'token for the admin endpoint (required beyond loopback)' },
  '--health-probe': { key: 'healthProbe', arg: 'MS', help: 'ask the implementation get_status this often (0: never)' },
  '--healthy-when': { key: 'healthyWhen', arg: 'all|any', help: '/healthz is up when every account is up (all), or at least one (any)' },
  '--alert': {
    key: 'alerts',
    arg: 'URL',
    help: 'POST every alert as JSON to this webhook (repeatable; added to the config file\'s "alerts")',
    appends: true,
  },
  '--alert-grace': {
    key: 'alertGrace',
    arg: 'MS',
    help: 'a condition must last this long before it alerts (and be clear this long to recover)',
  },
  '--unhealthy-after': { key: 'unhealthyAfter', arg: 'N', help: 'send_* calls failing or timing out in a row that make the bot degraded' },
  '--on-unhealthy': {
    key: 'onUnhealthy',
    arg: 'COMMAND',
    help: 'run this when the bot stays down, offline or degraded (e.g. restart NapCat): a "command" alert channel',
  },
  '--unhealthy-grace': { key: 'unhealthyGrace', arg: 'MS', help: 'how long degraded or down before --on-unhealthy runs' },
  '--unhealthy-cooldown': { key: 'unhealthyCooldown', arg: 'MS', help: 'least time from the end of one run of --on-unhealthy to the next' },
  '--unhealthy-timeout': { key: 'unhealthyTimeout', arg: 'MS', help: 'stop --on-unhealthy if it runs longer' },
  '--ping': { key: 'ping', arg: 'MS', help: 'send a WebSocket ping on every link this often' },
  '--ping-timeout': { key: 'pingTimeout', arg: 'MS', help: 'a link with no pong or frame this long after a ping is dead' },
  '--client-ping-timeout': {
    key: 'clientPingTimeout',
    arg: 'MS',
    help: 'drop a client (forward or reverse WS) only after this long without a pong or frame after a ping',
  },
  '--call-timeout': { key: 'callTimeout', arg: 'MS', help: 'answer a call with retcode 1504 if the implementation has not' },
  '--hold': { key: 'hold', arg: 'MS', help: 'how long a call waits for a down upstream before retcode 1502' },
  '--post-timeout': { key: 'postTimeout', arg: 'MS', help: 'give up on one --post request after this long (never resent)' },
  '--handshake-timeout': { key: 'handshakeTimeout', arg: 'MS', help: 'WebSocket handshake limit when the relay dials' },
  '--reconnect-max': { key: 'reconnectMax', arg: 'MS', help: 'longest wait between reconnect attempts (backoff cap)' },
  '--buffer-events': { key: 'bufferEvents', arg: 'N', help: 'events kept for each target while it is away (oldest dropped first)' },
  '--buffer-bytes': { key: 'bufferBytes', arg: 'BYTES', help: 'bytes kept for each target while it is away' },
  '--buffer-age': { key: 'bufferAge', arg: 'MS', help: 'an event older than this is not replayed' },
  '--rate-limit-interval': {
    key: 'rateLimitInterval',
    arg: 'MS',
    help: 'spacing of _rate_limited calls and of send_* calls held through an outage',
  },
  '--send-limit-account': {
    key: 'sendLimit',
    sub: 'account',
    arg: 'N/TIME',
    help: 'at most N send_* calls in any window of TIME per account, e.g. 20/10s ("off": none)',
  },
  '--send-limit-group': { key: 'sendLimit', sub: 'group', arg: 'N/TIME', help: 'the same per group' },
  '--send-limit-private': { key: 'sendLimit', sub: 'private', arg: 'N/TIME', help: 'the same per private peer' },
  '--send-overflow': {
    key: 'sendLimit',
    sub: 'overflow',
    arg: 'queue|reject',
    help: 'over a send limit: wait for a turn (queue), or answer retcode 1429 at once (reject)',
  },
  '--queue-limit': { key: 'queueLimit', arg: 'BYTES', help: 'bytes waiting for one client before it is dropped as too slow' },
  '--max-payload': { key: 'maxPayload', arg: 'BYTES', help: 'largest WebSocket message accepted' },
  '--log-level': { key: 'logLevel', arg: 'LEVEL', help: 'debug, info, warn or error' },
  '--log-format': { key: 'logFormat', arg: 'FORMAT', help: 'text (readable) or json (one object a line)' },
  '--log-file': {
    key: 'logFile',
    arg: 'FILE',
    help: 'also log to this file, rotated by size (a double-clicked executable: onebot-relay.log beside it)',
  },
  '--log-file-size': { key: 'logFileSize', arg: 'BYTES', help: 'rotate the log file at this size; 5 old files are kept' },
  '--spool': {
    key: 'spool',
    arg: 'DIR',
    help: 'also write events kept for away targets here, so that a restart or crash loses none ("" : memory only; default: a spool folder beside --config)',
  },
  '--spool-fsync': {
    key: 'spoolFsync',
    arg: 'MS',
    help: 'sync the spool to the disk this often: what a power loss can cost (0: every event)',
  },
  '--dedupe-window': {
    key: 'dedupeWindow',
    arg: 'MS',
    help: 'drop an event an account repeats (identical but for time) this soon (0: off)',
  },
  '--group-dedupe': {
    key: 'groupDedupe',
    arg: '',
    help: "with several accounts in a group, deliver each group message once, from the group's primary account",
  },
  '--keep-quick-edit': {
    key: 'keepQuickEdit',
    arg: '',
    help: "Windows: leave the console's QuickEdit on (a selection then pauses the relay's output)",
  },
};

export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config; configFile?: string };

export function parseCommandLine(argv: string[]): Command {
  const fromFlags: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-v') return { kind: 'version' };
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const flag = FLAGS[name];
    if (!flag && name !== '--config') throw new ConfigError(`unknown flag ${name} (see --help)`);
    const boolean = flag !== undefined && typeof DEFAULTS[flag.key] === 'boolean';
    const value = eq > 0 ? arg.slice(eq + 1) : boolean ? 'true' : argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value${flag ? ` (${flag.arg})` : ' (FILE)'}`);
    if (!flag) {
      configFile = resolve(value);
      continue;
    }
    sources[flag.key] = name;
    if (flag.sub) fromFlags[flag.key] = { ...(fromFlags[flag.key] as object), [flag.sub]: value };
    else if (Array.isArray(DEFAULTS[flag.key])) fromFlags[flag.key] = [...((fromFlags[flag.key] as string[]) ?? []), value];
    else if (flag.repeatable && fromFlags[flag.key] !== undefined) fromFlags[flag.key] = [fromFlags[flag.key], value].flat();
    else if (boolean) fromFlags[flag.key] = value === 'true' ? true : value === 'false' ? false : value;
    else fromFlags[flag.key] = typeof DEFAULTS[flag.key] === 'number' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const fileSource = configFile ? `config file ${configFile}` : '';
  for (const key of Object.keys(fromFile)) sources[key] ??= fileSource;
  // A flag that sets one key of an object setting keeps the file's other keys; one that appends keeps its list.
  for (const flag of Object.values(FLAGS)) {
    if (fromFlags[flag.key] === undefined || typeof fromFile[flag.key] !== 'object') continue;
    if (flag.sub) fromFlags[flag.key] = { ...(fromFile[flag.key] as object), ...(fromFlags[flag.key] as object) };
    if (flag.appends && Array.isArray(fromFile[flag.key]))
      fromFlags[flag.key] = [...(fromFile[flag.key] as unknown[]), ...(fromFlags[flag.key] as unknown[])];
  }
  // Files a config file names (filter files, the log file) are beside it when relative.
  const config = validateConfig({ ...fromFile, ...fromFlags }, sources, configFile ? dirname(configFile) : '.');
  // A relative log file or spool is beside the config file that names it, or in the working directory.
  if (config.logFile) config.logFile = resolve(sources.logFile === fileSource ? dirname(configFile!) : '.', config.logFile);
  // A relay run from a config file (the double-clicked executable is) keeps its spool beside it unless told otherwise.
  if (configFile && sources.spool === undefined) config.spool = SPOOL_NAME;
  if (config.spool)
    config.spool = resolve(sources.spool === fileSource || sources.spool === undefined ? dirname(configFile!) : '.', config.spool);
  return { kind: 'run', config, configFile };
}

export function helpText(version: string): string {
  const rows = Object.entries(FLAGS).map(([name, flag]) => {
    const fallback = flag.sub ? (DEFAULTS[flag.key] as Record<string, string>)[flag.sub] : DEFAULTS[flag.key];
    const shown = Array.isArray(fallback)
      ? fallback.join(', ') || '(none)'
      : fallback === '' || fallback === undefined
        ? '(none)'
        : String(fallback);
    return `  ${`${name} ${flag.arg}`.padEnd(30)}${flag.help}\n  ${''.padEnd(30)}default: ${shown}`;
  });
  return [
    `onebot-relay ${version}: one stable link to a OneBot v11 implementation, shared by any number of bot frameworks.`,
    '',
    'Usage: onebot-relay [flags]',
    '',
    '  --config FILE                 JSON file with the same settings in camelCase (flags win)',
    ...rows,
    '  --help, --version',
    '',
  ].join('\n');
}
