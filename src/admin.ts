// The admin endpoint: the status page (live over SSE), /status.json, /healthz, /metrics, POST /reload and
// POST /alerts/test.
import { Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AttemptResult } from './alerts/delivery.ts';
import { requireToken } from './auth.ts';
import type { Health } from './hub.ts';
import { type Address, HttpListener, mediaType } from './listen.ts';
import type { Logger } from './log.ts';
import type { StatusSnapshot } from './status.ts';
import { STATUS_PAGE } from './status-page.ts';

export interface AdminOptions {
  listen: Address;
  token: string;
  /** Web pages that may use it besides its own status page. */
  allowOrigins: readonly string[];
  /** Host names it answers to besides IP addresses, localhost and its listen host (DNS rebinding). */
  allowHosts: readonly string[];
}

export interface AdminSources {
  health(): Health;
  status(): StatusSnapshot;
  /** Prometheus text format. */
  metrics(): Promise<{ contentType: string; body: string }>;
  reload(): Promise<boolean>;
  /** Send a test alert to every channel; each channel's result. */
  testAlerts(): Promise<AttemptResult[]>;
}

/** How often the status page gets a new snapshot, ms. */
const PUSH_EVERY_MS = 1000;

/**
 * For the routes that change something, all of them POSTs. A page on any site can make a browser send a
 * form, text/plain or an empty body without asking; application/json it must ask for first (a CORS
 * preflight, which the relay never grants). With a token set, the request has already shown it.
 */
function jsonOrToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (token || mediaType(c.req.header('content-type')) === 'application/json') return next();
    return c.text(`POST ${c.req.path} needs Content-Type: application/json (or the admin token): a form post is refused`, 415);
  };
}

export function adminListener(options: AdminOptions, sources: AdminSources, log: Logger): HttpListener {
  const app = new Hono();
  app.use('*', requireToken(options.token));
  app.post('*', jsonOrToken(options.token));
  app.get('/', (c) => c.html(STATUS_PAGE));
  app.get('/status.json', (c) => c.json(sources.status()));
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      while (!stream.aborted && !stream.closed) {
        await stream.writeSSE({ event: 'status', data: JSON.stringify(sources.status()) });
        await stream.sleep(PUSH_EVERY_MS);
      }
    }),
  );
  app.get('/healthz', (c) => {
    const health = sources.health();
    return c.json(health, health.status === 'up' ? 200 : 503);
  });
  app.get('/healthz/:selfId', (c) => {
    const selfId = c.req.param('selfId');
    const account = sources.health().accounts.find((a) => String(a.self_id) === selfId);
    if (!account) return c.json({ status: 'unknown', reason: `no account ${selfId} is linked to the relay` }, 404);
    return c.json(account, account.status === 'up' ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const { contentType, body } = await sources.metrics();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
  app.post('/reload', async (c) => {
    const applied = await sources.reload();
    return c.json(
      { reloaded: applied, ...(applied ? {} : { error: 'invalid settings: the running ones stay (the log says why)' }) },
      applied ? 200 : 400,
    );
  });
  app.post('/alerts/test', async (c) => {
    const results = await sources.testAlerts();
    return c.json({
      ok: results.every((r) => r.ok),
      results,
      ...(results.length ? {} : { message: 'no alert channels are configured ("alerts" in the config file, or --alert URL)' }),
    });
  });
  return new HttpListener('admin endpoint', options.listen, app.fetch, {
    browsers: { allowOrigins: options.allowOrigins, allowHosts: options.allowHosts, ownPages: true },
    log,
  });
}
