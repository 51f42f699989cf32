// The relay's settings: one schema for the config file and the flags, with errors that name the key.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as v from 'valibot';
import { ChannelSchema } from './alerts/channels.ts';
import { hostNameOf, originOf } from './browser-guard.ts';
import { type Address, isLoopback } from './listen.ts';
import { LEVELS, LOG_FORMATS, redactUrl } from './log.ts';
import { isJsonObject } from './onebot.ts';
import { COMPAT_NAMES } from './profile/compat.ts';
import { compileFilter, FilterError } from './profile/event-filter.ts';
import type { ProfileSettings } from './profile/profile.ts';
import { bytes, count, expected, milliseconds, objectOf, Url } from './schema.ts';
import { parseRate, type SendLimits } from './send-limit.ts';

/** An endpoint object's message: a key it does not know is named as an unknown setting, anything else gets `what`. */
const endpointOf = (what: string) => objectOf(what, 'unknown setting (see README for the settings of each endpoint)');

const ADDRESS = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/;
const AddressSchema = v.pipe(
  v.string(expected('"HOST:PORT"')),
  v.regex(ADDRESS, expected('"HOST:PORT" such as "127.0.0.1:6710" or "[::1]:6710"')),
  v.transform((s): Address => {
    const [, v6, host, port] = ADDRESS.exec(s)!;
    return { host: (v6 ?? host)!, port: Number(port) };
  }),
  v.check((a) => a.port <= 65535, 'expected a port from 0 to 65535'),
);

/** A web page's origin for allowOrigins, as browsers send it, or "*" (any page). */
const OriginSchema = v.pipe(
  v.string(expected('an origin such as "https://example.com"')),
  v.check(
    (s) => s === '*' || originOf(s) !== undefined,
    expected('an origin such as "https://example.com" (scheme, host and port only: no path), or "*"'),
  ),
  v.transform((s) => (s === '*' ? s : originOf(s)!)),
);

/** A host name for allowHosts (IP addresses and localhost are always accepted). */
const HostNameSchema = v.pipe(
  v.string(expected('a host name such as "bot.example.com"')),
  v.check((s) => hostNameOf(s) !== undefined, expected('a host name such as "bot.example.com" (no scheme, port or path)')),
  v.transform((s) => hostNameOf(s)!),
);

const origins = v.array(OriginSchema, expected('a list of origins such as ["https://example.com"]'));
const hostNames = v.array(HostNameSchema, expected('a list of host names such as ["bot.example.com"]'));

/** A delivery profile as the settings write it: its filter inline, or in a file (read into `filter`). */
export interface ProfileFields extends ProfileSettings {
  filterFile?: string;
}

/** Per-endpoint settings; what an endpoint leaves out comes from the top-level setting of the same name. */
export interface ListenEndpoint extends ProfileFields {
  listen: Address;
  token?: string;
  heartbeat?: number;
  allowOrigins?: string[];
  allowHosts?: string[];
  /** WebSocket server: the profiles of named clients (?client=NAME), over the endpoint's own. */
  clients?: Record<string, ProfileFields>;
}
export interface ReverseEndpoint extends ProfileFields {
  url?: string;
  apiUrl?: string;
  eventUrl?: string;
  token?: string;
  heartbeat?: number;
  /** Only these accounts (self_ids); all when absent. */
  accounts?: (number | string)[];
}
export interface PostEndpoint extends ProfileFields {
  url: string;
  secret?: string;
  timeout?: number;
  heartbeat?: number;
}

/** A filter in go-cqhttp's syntax, checked as it is read: a mistake names its place in the filter. */
const FilterSchema = v.pipe(
  v.custom<Record<string, unknown>>(isJsonObject, expected("an object in go-cqhttp's event-filter syntax")),
  v.rawCheck(({ dataset, addIssue }) => {
    const why = dataset.typed ? filterProblem(dataset.value) : undefined;
    if (why) addIssue({ message: why });
  }),
);

/** What a profile may say (see README "Delivery profiles"); the names are NapCat's and go-cqhttp's. */
const profileEntries = {
  messagePostFormat: v.optional(v.picklist(['array', 'string'], expected('"array" or "string"'))),
  filter: v.optional(FilterSchema),
  filterFile: v.optional(v.pipe(v.string(expected('a file path')), v.minLength(1, 'expected a file path'))),
  reportSelfMessage: v.optional(v.boolean(expected('true or false'))),
  compat: v.optional(
    v.array(v.picklist(COMPAT_NAMES, expected(COMPAT_NAMES.map((n) => `"${n}"`).join(', '))), expected('a list of fix names')),
  ),
};

/** A listening endpoint: "HOST:PORT", or an object with "listen" and per-endpoint settings. */
const Listening = <T extends v.ObjectEntries>(extra: T) =>
  v.pipe(
    v.union(
      [
        v.pipe(
          AddressSchema,
          v.transform((listen) => ({ listen })),
        ),
        v.strictObject({ listen: AddressSchema, ...extra }, endpointOf('an object with "listen"')),
      ],
      expected('"HOST:PORT" or an object with "listen"'),
    ),
    v.transform((e) => e as ListenEndpoint),
  );

const AccountList = v.array(
  v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(/^\d{1,15}$/))], expected('a self_id (a number)')),
  expected('a list of self_ids'),
);

const ReverseTarget = v.pipe(
  v.union(
    [
      v.pipe(
        Url(['ws:', 'wss:'], 'ws://127.0.0.1:8080/onebot/v11/ws'),
        v.transform((url) => ({ url })),
      ),
      v.pipe(
        v.strictObject(
          {
            url: v.optional(Url(['ws:', 'wss:'], 'ws://127.0.0.1:8080/onebot/v11/ws')),
            apiUrl: v.optional(Url(['ws:', 'wss:'], 'ws://127.0.0.1:8080/ws/api')),
            eventUrl: v.optional(Url(['ws:', 'wss:'], 'ws://127.0.0.1:8080/ws/event')),
            token: v.optional(v.string(expected('a string'))),
            heartbeat: v.optional(milliseconds(100)),
            accounts: v.optional(AccountList),
            ...profileEntries,
          },
          endpointOf('an object with "url", or "apiUrl" and "eventUrl"'),
        ),
        v.check(
          (t) => (t.url ? !t.apiUrl && !t.eventUrl : Boolean(t.apiUrl && t.eventUrl)),
          'expected either "url" (Universal) or both "apiUrl" and "eventUrl"',
        ),
      ),
    ],
    expected('a ws:// URL or an object with "url", or "apiUrl" and "eventUrl"'),
  ),
  v.transform((t): ReverseEndpoint => t),
);

const PostTarget = v.pipe(
  v.union(
    [
      v.pipe(
        Url(['http:', 'https:'], 'http://127.0.0.1:8080/onebot/v11/http'),
        v.transform((url) => ({ url })),
      ),
      v.strictObject(
        {
          url: Url(['http:', 'https:'], 'http://127.0.0.1:8080/onebot/v11/http'),
          secret: v.optional(v.string(expected('a string'))),
          timeout: v.optional(milliseconds(100)),
          heartbeat: v.optional(milliseconds(0)),
          ...profileEntries,
        },
        endpointOf('an object with "url"'),
      ),
    ],
    expected('an http:// URL or an object with "url"'),
  ),
  v.transform((t): PostEndpoint => t),
);

/** One send limit: "COUNT/DURATION" (at most COUNT sends in any window of DURATION), or "off". */
const LimitSchema = v.pipe(
  v.union([v.string(), v.literal(false)], expected('"COUNT/DURATION" such as "5/10s", or "off"')),
  v.check(
    (s) => s === false || s === 'off' || parseRate(s) !== undefined,
    expected('"COUNT/DURATION" such as "5/10s", "20/1m" or "1/500ms" (COUNT and DURATION at least 1), or "off"'),
  ),
  v.transform((s) => (s === false || s === 'off' ? undefined : parseRate(s))),
);

/** One upstream: the relay dials `url` (ws:// forward WS, or http:// API plus `postListen`), or listens. */
export interface UpstreamEndpoint {
  url?: string;
  listen?: Address;
  postListen?: Address;
  token: string;
  secret: string;
}

const UpstreamEntry = v.pipe(
  v.union(
    [
      v.pipe(
        Url(['ws:', 'wss:', 'http:', 'https:'], 'ws://127.0.0.1:3001'),
        v.transform((url) => ({ url })),
      ),
      v.strictObject(
        {
          url: v.optional(Url(['ws:', 'wss:', 'http:', 'https:'], 'ws://127.0.0.1:3001')),
          listen: v.optional(AddressSchema),
          postListen: v.optional(AddressSchema),
          token: v.optional(v.string(expected('a string'))),
          secret: v.optional(v.string(expected('a string'))),
        },
        endpointOf('an object with "url" or "listen"'),
      ),
    ],
    expected('a ws:// or http:// URL, or an object with "url" or "listen"'),
  ),
  v.check(
    (u) => Boolean(u.url) !== Boolean('listen' in u && u.listen),
    'expected either "url" (the relay dials) or "listen" (the implementation dials)',
  ),
  v.check(
    (u) => !u.url || !/^https?:/.test(u.url) || Boolean('postListen' in u && u.postListen),
    'an http:// upstream needs "postListen": "HOST:PORT" where the implementation POSTs its events',
  ),
  v.check((u) => !('postListen' in u && u.postListen) || /^https?:/.test(u.url ?? ''), '"postListen" goes only with an http:// "url"'),
  v.transform((u) => u as Partial<UpstreamEndpoint>),
);

export const DEFAULTS = {
  upstream: 'ws://127.0.0.1:3001',
  upstreamToken: '',
  upstreamListen: undefined as string | undefined,
  upstreamPostListen: undefined as string | undefined,
  upstreamSecret: '',
  upstreams: [] as string[],
  healthyWhen: 'all' as 'all' | 'any',
  ws: ['127.0.0.1:6710'],
  reverse: [] as string[],
  http: [] as string[],
  post: [] as string[],
  token: '',
  /** Web pages that may use the endpoints the relay serves (a browser-based client you trust); "*": any. */
  allowOrigins: [] as string[],
  /** Names besides IP addresses and localhost that the admin endpoint and the HTTP API answer to. */
  allowHosts: [] as string[],
  secret: '',
  heartbeat: 15_000,
  admin: '127.0.0.1:6720',
  ping: 10_000,
  pingTimeout: 5_000,
  callTimeout: 25_000,
  hold: 10_000,
  postTimeout: 5_000,
  handshakeTimeout: 10_000,
  reconnectMax: 30_000,
  bufferEvents: 10_000,
  bufferBytes: 64 * 1024 * 1024,
  bufferAge: 10 * 60_000,
  rateLimitInterval: 500,
  /**
   * At most COUNT send_* calls in any window of DURATION, per account, per group and per private peer. A chatty bot
   * never reaches them; a broadcast to 200 groups goes out at 2 a second after its first 20 (README: Send limits).
   */
  sendLimit: { account: '20/10s', group: '5/5s', private: '5/5s', overflow: 'queue' } as Record<
    'account' | 'group' | 'private' | 'overflow',
    string
  >,
  adminToken: '',
  healthProbe: 30_000,
  /** Alert channels: webhook URLs (--alert), or objects with "type" in the config file. */
  alerts: [] as string[],
  /** A condition must last this long before it alerts, and stay clear this long before it recovers. */
  alertGrace: 30_000,
  unhealthyAfter: 3,
  onUnhealthy: '',
  unhealthyGrace: 60_000,
  unhealthyCooldown: 10 * 60_000,
  unhealthyTimeout: 60_000,
  /** A client is dropped for silence only after this long: longer than a stalled console or a blocking download. */
  clientPingTimeout: 60_000,
  queueLimit: 16 * 1024 * 1024,
  maxPayload: 64 * 1024 * 1024,
  logLevel: 'info' as (typeof LEVELS)[number],
  logFormat: 'text' as (typeof LOG_FORMATS)[number],
  /** A log file (relative: beside the config file naming it); '' for none. A double-clicked executable names one. */
  logFile: '',
  logFileSize: 10 * 1024 * 1024,
  /** Windows: leave the console's QuickEdit mode as it is (by default it is turned off at start). */
  keepQuickEdit: false,
  /**
   * The folder where events kept for away targets are also written, to survive a restart (relative: beside the
   * config file naming it); '' for memory only. Default: a "spool" folder beside the config file, if there is one.
   */
  spool: '',
  /** Sync the spool to the disk this often, ms (what a power loss can cost); 0: after every write. */
  spoolFsync: 100,
  /** Drop an event identical (but for `time`) to one from the same account this recently, ms; 0: off. */
  dedupeWindow: 10_000,
  /** With several accounts in a group, deliver each group message and notice once, from the group's primary account. */
  groupDedupe: false,
};

const ConfigSchema = v.strictObject(
  {
    upstream: v.optional(
      v.union(
        [
          Url(['ws:', 'wss:', 'http:', 'https:'], DEFAULTS.upstream),
          v.array(Url(['ws:', 'wss:', 'http:', 'https:'], DEFAULTS.upstream), expected('a list of URLs')),
        ],
        expected('a ws:// or http:// URL, or a list of them'),
      ),
      DEFAULTS.upstream,
    ),
    upstreams: v.optional(v.array(UpstreamEntry, expected('a list')), []),
    healthyWhen: v.optional(v.picklist(['all', 'any'], expected('"all" or "any"')), DEFAULTS.healthyWhen),
    upstreamToken: v.optional(v.string(expected('a string')), DEFAULTS.upstreamToken),
    upstreamListen: v.optional(AddressSchema),
    upstreamPostListen: v.optional(AddressSchema),
    upstreamSecret: v.optional(v.string(expected('a string')), DEFAULTS.upstreamSecret),
    ws: v.optional(
      v.array(
        Listening({
          token: v.optional(v.string(expected('a string'))),
          heartbeat: v.optional(milliseconds(100)),
          allowOrigins: v.optional(origins),
          ...profileEntries,
          clients: v.optional(
            v.record(
              v.pipe(v.string(), v.minLength(1, 'expected a client name')),
              v.strictObject(profileEntries, endpointOf('an object with profile settings')),
              expected('an object: client name → its profile settings'),
            ),
          ),
        }),
        expected('a list'),
      ),
      DEFAULTS.ws,
    ),
    reverse: v.optional(v.array(ReverseTarget, expected('a list')), DEFAULTS.reverse),
    http: v.optional(
      v.array(
        Listening({
          token: v.optional(v.string(expected('a string'))),
          allowOrigins: v.optional(origins),
          allowHosts: v.optional(hostNames),
          // Replies only: the HTTP API carries no events to filter.
          messagePostFormat: profileEntries.messagePostFormat,
        }),
        expected('a list'),
      ),
      DEFAULTS.http,
    ),
    post: v.optional(v.array(PostTarget, expected('a list')), DEFAULTS.post),
    token: v.optional(v.string(expected('a string')), DEFAULTS.token),
    allowOrigins: v.optional(origins, DEFAULTS.allowOrigins),
    allowHosts: v.optional(hostNames, DEFAULTS.allowHosts),
    secret: v.optional(v.string(expected('a string')), DEFAULTS.secret),
    heartbeat: v.optional(milliseconds(100), DEFAULTS.heartbeat),
    admin: v.optional(AddressSchema, DEFAULTS.admin),
    ping: v.optional(milliseconds(50), DEFAULTS.ping),
    pingTimeout: v.optional(milliseconds(50), DEFAULTS.pingTimeout),
    callTimeout: v.optional(milliseconds(100), DEFAULTS.callTimeout),
    hold: v.optional(milliseconds(0), DEFAULTS.hold),
    postTimeout: v.optional(milliseconds(100), DEFAULTS.postTimeout),
    handshakeTimeout: v.optional(milliseconds(100), DEFAULTS.handshakeTimeout),
    reconnectMax: v.optional(milliseconds(100), DEFAULTS.reconnectMax),
    bufferEvents: v.optional(
      count('events', 1, '1 or more events (an HTTP POST target queues its events there too)'),
      DEFAULTS.bufferEvents,
    ),
    bufferBytes: v.optional(bytes(64 * 1024), DEFAULTS.bufferBytes),
    bufferAge: v.optional(milliseconds(100), DEFAULTS.bufferAge),
    rateLimitInterval: v.optional(milliseconds(0), DEFAULTS.rateLimitInterval),
    sendLimit: v.pipe(
      v.optional(
        v.strictObject(
          {
            account: v.optional(LimitSchema, DEFAULTS.sendLimit.account),
            group: v.optional(LimitSchema, DEFAULTS.sendLimit.group),
            private: v.optional(LimitSchema, DEFAULTS.sendLimit.private),
            overflow: v.optional(v.picklist(['queue', 'reject'], expected('"queue" or "reject"')), 'queue'),
          },
          objectOf(
            'an object with "account", "group", "private" and "overflow"',
            'unknown setting (expected "account", "group", "private" or "overflow")',
          ),
        ),
        {},
      ),
      v.transform((limits): SendLimits => limits),
    ),
    adminToken: v.optional(v.string(expected('a string')), DEFAULTS.adminToken),
    healthProbe: v.optional(milliseconds(0), DEFAULTS.healthProbe),
    alerts: v.optional(v.array(ChannelSchema, expected('a list of alert channels')), []),
    alertGrace: v.optional(milliseconds(0), DEFAULTS.alertGrace),
    unhealthyAfter: v.optional(count('calls', 1, 'at least 1 call'), DEFAULTS.unhealthyAfter),
    onUnhealthy: v.optional(v.string(expected('a command line')), DEFAULTS.onUnhealthy),
    unhealthyGrace: v.optional(milliseconds(0), DEFAULTS.unhealthyGrace),
    unhealthyCooldown: v.optional(milliseconds(1000), DEFAULTS.unhealthyCooldown),
    unhealthyTimeout: v.optional(milliseconds(100), DEFAULTS.unhealthyTimeout),
    clientPingTimeout: v.optional(milliseconds(50), DEFAULTS.clientPingTimeout),
    queueLimit: v.optional(bytes(64 * 1024), DEFAULTS.queueLimit),
    maxPayload: v.optional(bytes(1024), DEFAULTS.maxPayload),
    logLevel: v.optional(v.picklist(LEVELS, expected(LEVELS.map((l) => `"${l}"`).join(', '))), DEFAULTS.logLevel),
    logFormat: v.optional(v.picklist(LOG_FORMATS, expected('"text" or "json"')), DEFAULTS.logFormat),
    logFile: v.optional(v.string(expected('a file path (or "" for none)')), DEFAULTS.logFile),
    logFileSize: v.optional(bytes(64 * 1024), DEFAULTS.logFileSize),
    keepQuickEdit: v.optional(v.boolean(expected('true or false')), DEFAULTS.keepQuickEdit),
    spool: v.optional(v.string(expected('a folder (or "" for memory only)')), DEFAULTS.spool),
    spoolFsync: v.optional(milliseconds(0), DEFAULTS.spoolFsync),
    dedupeWindow: v.optional(milliseconds(0), DEFAULTS.dedupeWindow),
    groupDedupe: v.optional(v.boolean(expected('true or false')), DEFAULTS.groupDedupe),
  },
  objectOf('a JSON object', 'unknown setting (see --help for the list)'),
);

/** Valid settings; `upstreams` gathers every upstream, the single-upstream keys included. */
export type Config = Omit<v.InferOutput<typeof ConfigSchema>, 'upstreams'> & { upstreams: UpstreamEndpoint[] };
/** Settings as a config file or the flags give them (before validation). */
export type Settings = v.InferInput<typeof ConfigSchema>;

/** Bad settings: the message names each bad key, where it came from, what was expected and what was given. */
export class ConfigError extends Error {}

/** Read a JSON config file (not yet validated). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Validate settings. `sources` says where each top-level key came from (a flag or the config file),
 * so that an error can say what to fix.
 */
export function validateConfig(settings: Record<string, unknown>, sources: Record<string, string> = {}, baseDir = '.'): Config {
  const result = v.safeParse(ConfigSchema, settings);
  if (result.success) {
    const why = upstreamModeProblem(result.output, 'upstream' in settings) ?? adminProblem(result.output);
    if (why) throw new ConfigError(`invalid settings:\n  ${why}`);
    const filterProblems = readFilterFiles(result.output, baseDir).map(([key, problem]) => {
      const source = sources[key.split('.')[0]!];
      return `  ${key}${source ? ` (${source})` : ''}: ${problem}`;
    });
    if (filterProblems.length) throw new ConfigError(`invalid settings:\n${filterProblems.join('\n')}`);
    return { ...result.output, upstreams: upstreamsOf(result.output, 'upstream' in settings || 'upstreamListen' in settings) };
  }
  const lines = result.issues.map(mostSpecific).map((issue) => {
    const path = issue.path?.map((p) => String(p.key)) ?? [];
    const key = path.join('.') || '(top level)';
    const source = sources[path[0] ?? ''];
    // Never echo what was given for a token or a secret, nor a token or a password inside a URL; an alert
    // channel's settings are its keys and tokens.
    const message =
      /token|secret/i.test(key) || path[0] === 'alerts'
        ? issue.message.replace(/, got .*$/s, '')
        : issue.message.replace(/((?:access_)?token=)[^&"\s]*/gi, '$1***').replace(/(\/\/[^/@\s"]*:)[^/@\s"]*@/g, '$1***@');
    return `  ${key}${source ? ` (${source})` : ''}: ${message}`;
  });
  throw new ConfigError(`invalid settings:\n${lines.join('\n')}`);
}

type ConfigIssue = v.InferIssue<typeof ConfigSchema>;

/**
 * An endpoint fails as a whole union: for an object, its sub-issue with a path says which key is wrong;
 * for a string of the right type, the check it failed says why.
 */
function mostSpecific(issue: ConfigIssue): ConfigIssue {
  const issues = issue.issues as ConfigIssue[] | undefined;
  const sub = issues?.find((i) => i.path?.length) ?? issues?.find((i) => i.kind === 'validation');
  return sub ? mostSpecific({ ...sub, path: [...(issue.path ?? []), ...(sub.path ?? [])] } as ConfigIssue) : issue;
}

/** Why `filter` is no event filter, or undefined. */
function filterProblem(filter: unknown): string | undefined {
  try {
    compileFilter(filter);
    return undefined;
  } catch (err) {
    if (err instanceof FilterError) return err.message;
    throw err;
  }
}

/**
 * Read each profile's filterFile (relative: beside the config file) into its `filter`. Returns the problems,
 * each with the key of the setting.
 */
function readFilterFiles(config: v.InferOutput<typeof ConfigSchema>, baseDir: string): [string, string][] {
  const profiles: [string, ProfileFields][] = [
    ...config.ws.flatMap((e, i) => [
      [`ws.${i}`, e] as [string, ProfileFields],
      ...Object.entries(e.clients ?? {}).map(([name, c]): [string, ProfileFields] => [`ws.${i}.clients.${name}`, c]),
    ]),
    ...config.reverse.map((t, i): [string, ProfileFields] => [`reverse.${i}`, t]),
    ...config.post.map((t, i): [string, ProfileFields] => [`post.${i}`, t]),
  ];
  return profiles.flatMap(([key, profile]): [string, string][] => {
    if (profile.filterFile === undefined) return [];
    if (profile.filter) return [[`${key}.filterFile`, 'set "filter" or "filterFile", not both']];
    const path = resolve(baseDir, profile.filterFile);
    let filter: unknown;
    try {
      filter = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
    } catch (err) {
      const why = err instanceof SyntaxError ? `is not valid JSON: ${err.message}` : `cannot be read: ${(err as Error).message}`;
      return [[`${key}.filterFile`, `filter file ${path} ${why}`]];
    }
    const why = filterProblem(filter);
    if (why) return [[`${key}.filterFile`, `filter file ${path}: ${why}`]];
    profile.filter = filter as Record<string, unknown>;
    return [];
  });
}

/** The admin endpoint can reload the relay and shows its clients: anywhere but loopback it needs a token. */
function adminProblem(config: Pick<Config, 'admin' | 'adminToken'>): string | undefined {
  if (!isLoopback(config.admin.host) && !config.adminToken)
    return `adminToken (--admin-token): needed when the admin endpoint listens on ${config.admin.host}, beyond loopback`;
  return undefined;
}

/** The single-upstream keys make one upstream (one per URL for a list); they must not mix modes. */
function upstreamModeProblem(config: v.InferOutput<typeof ConfigSchema>, upstreamGiven: boolean): string | undefined {
  const urls = [config.upstream].flat();
  const http = urls.some((url) => /^https?:/.test(url));
  if (config.upstreamListen && upstreamGiven)
    return 'upstream and upstreamListen (--upstream, --upstream-listen): choose one upstream mode (to have the implementation dial in, remove "upstream")';
  if (config.upstreamListen && config.upstreamPostListen)
    return 'upstreamPostListen (--upstream-post-listen): only used with an http:// upstream';
  if (http && !config.upstreamPostListen)
    return 'upstreamPostListen (--upstream-post-listen): expected "HOST:PORT" where the implementation POSTs its events (an http:// upstream needs it)';
  if (http && urls.length > 1)
    return 'upstream (--upstream): several upstreams cannot share one upstreamPostListen; list them under "upstreams", each with its own "postListen"';
  if (!http && config.upstreamPostListen && !config.upstreamListen)
    return 'upstreamPostListen (--upstream-post-listen): only used with an http:// upstream';
  return undefined;
}

/**
 * Every upstream: the single-upstream keys first (when given, or when "upstreams" is empty: the default
 * upstream), then the "upstreams" list; entries without a token or secret take upstreamToken/upstreamSecret.
 */
function upstreamsOf(config: v.InferOutput<typeof ConfigSchema>, singleGiven: boolean): UpstreamEndpoint[] {
  const token = config.upstreamToken;
  const secret = config.upstreamSecret;
  const single: UpstreamEndpoint[] = config.upstreamListen
    ? [{ listen: config.upstreamListen, token, secret }]
    : [config.upstream]
        .flat()
        .map((url) => ({ url, ...(config.upstreamPostListen ? { postListen: config.upstreamPostListen } : {}), token, secret }));
  const listed = config.upstreams.map((u) => ({ ...u, token: u.token ?? token, secret: u.secret ?? secret }));
  return [...(singleGiven || listed.length === 0 ? single : []), ...listed];
}

/**
 * Settings that are valid but known to break a framework, each as a warning that says what to change. NoneBot
 * creates its bot for an account from the first webhook POST and keeps it, then refuses every reverse WebSocket
 * for that account ("Duplicate X-Self-ID") until it restarts: one server both POSTed to and reverse-dialled.
 */
export function configWarnings(config: Config): string[] {
  const reverse = config.reverse.flatMap((t) => [t.url, t.apiUrl, t.eventUrl].filter((u): u is string => u !== undefined));
  return config.post.flatMap(({ url }) => {
    const dialled = reverse.find((r) => serverOf(r) === serverOf(url));
    if (dialled === undefined) return [];
    return [
      `post target ${redactUrl(url)} and reverse target ${redactUrl(dialled)} are one server (${serverOf(url)}): if it is NoneBot, ` +
        'its first POST creates the bot and it then refuses the reverse WebSocket ("Duplicate X-Self-ID", HTTP 403) until it restarts; ' +
        'serve that framework one way only (the reverse WebSocket alone carries events and calls)',
    ];
  });
}

/** host:port of a URL, default ports spelled out. */
function serverOf(url: string): string {
  const { hostname, port, protocol } = new URL(url);
  return `${hostname}:${port || (protocol === 'https:' || protocol === 'wss:' ? 443 : 80)}`;
}
