// The admin endpoint: the status page (live over SSE), /status.json, /healthz, /metrics and POST /reload.
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { requireToken } from './auth.ts';
import type { Health } from './hub.ts';
import { type Address, HttpListener } from './listen.ts';
import type { StatusSnapshot } from './status.ts';
import { STATUS_PAGE } from './status-page.ts';

export interface AdminSources {
  health(): Health;
  status(): StatusSnapshot;
  /** Prometheus text format. */
  metrics(): Promise<{ contentType: string; body: string }>;
  reload(): Promise<boolean>;
}

/** How often the status page gets a new snapshot, ms. */
const PUSH_EVERY_MS = 1000;

export function adminListener(address: Address, token: string, sources: AdminSources): HttpListener {
  const app = new Hono();
  app.use('*', requireToken(token));
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
  return new HttpListener('admin endpoint', address, app.fetch);
}
