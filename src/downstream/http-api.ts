// HTTP API server for clients: /:action by GET or POST, and POST / with {action, params}, as the spec's HTTP API.
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requireToken } from '../auth.ts';
import type { Caller } from '../calls.ts';
import type { Accounts } from '../hub.ts';
import { type Address, HttpListener, mediaType } from '../listen.ts';
import type { Logger } from '../log.ts';
import { isJsonObject } from '../onebot.ts';
import { EndpointProfiles } from '../profile/endpoint-profiles.ts';
import { parseSelfId } from '../upstream/upstream.ts';
import type { Adapter, ClientStatus, EndpointTotals } from './adapter.ts';

export interface HttpApiOptions {
  listen: Address;
  token: string;
  /** Web pages that may call it. */
  allowOrigins: readonly string[];
  /** Host names it answers to besides IP addresses, localhost and its listen host (DNS rebinding). */
  allowHosts: readonly string[];
  /** Largest request body accepted (413 beyond), bytes. */
  maxPayload: number;
}

type Params = Record<string, unknown>;

/** Thrown while reading a request: the HTTP status and why. */
class BadRequest extends Error {
  constructor(
    readonly status: 400 | 406,
    message: string,
  ) {
    super(message);
  }
}

export class HttpApiAdapter implements Adapter {
  readonly listener: HttpListener;

  constructor(
    options: HttpApiOptions,
    private readonly accounts: Accounts,
    log: Logger,
    /** Replies only (the HTTP API carries no events): messages in the callers' format. */
    private profiles = new EndpointProfiles(),
  ) {
    const app = new Hono<{ Bindings: HttpBindings }>({ strict: false });
    app.use('*', requireToken(options.token));
    app.use('*', bodyLimit({ maxSize: options.maxPayload, onError: (c) => c.text(`request body over ${options.maxPayload} bytes`, 413) }));
    // One account of several: /<self_id>/<action>, or POST /<self_id>/ with {action, params} (no action is all digits).
    app.post('/:selfId{[0-9]+}', (c) => this.handle(c, undefined));
    app.on(['GET', 'POST'], '/:selfId{[0-9]+}/:action', (c) => this.handle(c, c.req.param('action')));
    app.post('/', (c) => this.handle(c, undefined));
    app.on(['GET', 'POST'], '/:action', (c) => this.handle(c, c.req.param('action')));
    app.all('*', (c) =>
      c.json({ status: 'failed', retcode: 1404, data: null, message: 'use GET or POST /:action, or POST / with {action, params}' }, 404),
    );
    this.listener = new HttpListener('HTTP API server', options.listen, app.fetch, {
      browsers: { allowOrigins: options.allowOrigins, allowHosts: options.allowHosts },
      log,
    });
  }

  get name(): string {
    return `http://${this.listener.url}/ (HTTP API server)`;
  }

  /** HTTP callers hold no connection between calls: nothing to list. */
  clients(): ClientStatus[] {
    return [];
  }

  totals(): EndpointTotals {
    return { delivered: 0, dropped: 0, failed: 0 }; // calls only
  }

  open(): Promise<void> {
    return this.listener.open();
  }

  useProfiles(profiles: EndpointProfiles): void {
    this.profiles = profiles;
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  private async handle(c: Context<{ Bindings: HttpBindings }>, pathAction: string | undefined): Promise<Response> {
    let action = pathAction;
    let params: Params;
    try {
      const body = c.req.method === 'GET' ? coerce(c.req.queries()) : await readBody(c);
      if (action === undefined) {
        if (typeof body.action !== 'string' || !body.action)
          throw new BadRequest(400, 'POST / needs a JSON body like {"action": ..., "params": {...}}');
        action = body.action;
        params = isJsonObject(body.params) ? body.params : {};
      } else {
        params = body;
      }
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      return c.text(err.message, err.status);
    }
    const socket = c.env.incoming.socket;
    const label = `http client ${socket.remoteAddress}:${socket.remotePort}`;
    // The account: from the path, else X-Self-ID, else self_id in the params (HoshinoBot puts it there).
    const selector = parseSelfId(c.req.param('selfId') ?? c.req.header('x-self-id') ?? stringOf(params.self_id));
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      const caller: Caller = { label, reply: (frame) => resolve(this.profiles.for()?.reply(action!, frame) ?? frame) };
      this.accounts.call(selector, caller, { action: action!, params });
    });
    const unknownAction = reply.retcode === 1404 || reply.retcode === 404;
    return c.json(reply, unknownAction ? 404 : 200);
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : undefined;
}

async function readBody(c: Context): Promise<Params> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  const type = mediaType(c.req.header('content-type'));
  if (type === 'application/json' || type === '') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BadRequest(400, 'the body is not valid JSON');
    }
    if (!isJsonObject(body)) throw new BadRequest(400, 'the body must be a JSON object');
    return body;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text);
    return coerce(Object.fromEntries([...form.keys()].map((key) => [key, form.getAll(key)])));
  }
  throw new BadRequest(406, `unsupported Content-Type ${type}: use application/json or application/x-www-form-urlencoded`);
}

/** Numeric and boolean fields that arrive as strings from a query or a form. Text fields stay strings. */
const NUMBERS = /(^|_)(id|duration|times|count|no|seq)$/;
const BOOLEANS = new Set([
  'auto_escape',
  'no_cache',
  'approve',
  'enable',
  'is_dismiss',
  'reject_add_request',
  'at_sender',
  'delete',
  'kick',
  'ban',
]);

function coerce(values: Record<string, string[]>): Params {
  const params: Params = {};
  for (const [key, all] of Object.entries(values)) {
    if (key === 'access_token') continue;
    const value = all.at(-1)!;
    if (NUMBERS.test(key) && /^-?\d+$/.test(value)) params[key] = Number(value);
    else if (BOOLEANS.has(key) && /^(true|false|1|0)$/.test(value)) params[key] = value === 'true' || value === '1';
    else params[key] = value;
  }
  return params;
}
