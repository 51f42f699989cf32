// The relay's settings: one schema for the config file and the flags, with errors that name the key.
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import type { Address } from './listen.ts';
import { LEVELS } from './log.ts';

type Issue = { received: string };
const expected = (what: string) => (issue: Issue) => `expected ${what}, got ${issue.received}`;

const milliseconds = (min: number) =>
  v.pipe(
    v.number(expected('a number of milliseconds')),
    v.integer(expected('a whole number of milliseconds')),
    v.minValue(min, expected(`at least ${min} ms`)),
  );

const bytes = (min: number) =>
  v.pipe(v.number(expected('a number of bytes')), v.integer(expected('a whole number of bytes')), v.minValue(min, expected(`at least ${min} bytes`)));

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

const Url = (schemes: string[], example: string) =>
  v.pipe(
    v.string(expected(`a URL such as "${example}"`)),
    v.check((s) => URL.canParse(s) && schemes.includes(new URL(s).protocol), expected(`a ${schemes.map((p) => p + '//').join(' or ')} URL such as "${example}"`)),
  );

export const DEFAULTS = {
  upstream: 'ws://127.0.0.1:3001',
  upstreamToken: '',
  ws: ['127.0.0.1:6710'],
  token: '',
  heartbeat: 15_000,
  admin: '127.0.0.1:6720',
  ping: 10_000,
  pingTimeout: 5_000,
  callTimeout: 25_000,
  hold: 10_000,
  reconnectMax: 30_000,
  queueLimit: 16 * 1024 * 1024,
  maxPayload: 64 * 1024 * 1024,
  logLevel: 'info' as (typeof LEVELS)[number],
};

export const ConfigSchema = v.strictObject(
  {
    upstream: v.optional(Url(['ws:', 'wss:'], DEFAULTS.upstream), DEFAULTS.upstream),
    upstreamToken: v.optional(v.string(expected('a string')), DEFAULTS.upstreamToken),
    ws: v.optional(v.array(AddressSchema, expected('a list of "HOST:PORT"')), DEFAULTS.ws),
    token: v.optional(v.string(expected('a string')), DEFAULTS.token),
    heartbeat: v.optional(milliseconds(100), DEFAULTS.heartbeat),
    admin: v.optional(AddressSchema, DEFAULTS.admin),
    ping: v.optional(milliseconds(50), DEFAULTS.ping),
    pingTimeout: v.optional(milliseconds(50), DEFAULTS.pingTimeout),
    callTimeout: v.optional(milliseconds(100), DEFAULTS.callTimeout),
    hold: v.optional(milliseconds(0), DEFAULTS.hold),
    reconnectMax: v.optional(milliseconds(100), DEFAULTS.reconnectMax),
    queueLimit: v.optional(bytes(64 * 1024), DEFAULTS.queueLimit),
    maxPayload: v.optional(bytes(1024), DEFAULTS.maxPayload),
    logLevel: v.optional(v.picklist(LEVELS, expected(LEVELS.map((l) => `"${l}"`).join(', '))), DEFAULTS.logLevel),
  },
  (issue) => (issue.expected === 'never' ? `unknown setting (see --help for the list)` : `expected a JSON object, got ${issue.received}`),
);

export type Config = v.InferOutput<typeof ConfigSchema>;
export type Settings = Partial<typeof DEFAULTS>;

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
export function validateConfig(settings: Record<string, unknown>, sources: Record<string, string> = {}): Config {
  const result = v.safeParse(ConfigSchema, settings);
  if (result.success) return result.output;
  const lines = result.issues.map((issue) => {
    const path = issue.path?.map((p) => String(p.key)) ?? [];
    const key = path.join('.') || '(top level)';
    const source = sources[path[0] ?? ''];
    return `  ${key}${source ? ` (${source})` : ''}: ${issue.message}`;
  });
  throw new ConfigError(`invalid settings:\n${lines.join('\n')}`);
}
