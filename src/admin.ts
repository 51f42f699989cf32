// The admin endpoint: health for operators and their monitors.
import { Hono } from 'hono';
import type { Hub } from './hub.ts';
import { HttpListener, type Address } from './listen.ts';

export function adminListener(address: Address, hub: Hub, reload: () => Promise<boolean>): HttpListener {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const health = hub.health();
    return c.json(health, health.status === 'up' ? 200 : 503);
  });
  app.post('/reload', async (c) => {
    const applied = await reload();
    return c.json({ reloaded: applied, ...(applied ? {} : { error: 'invalid settings: the running ones stay (the log says why)' }) }, applied ? 200 : 400);
  });
  return new HttpListener('admin endpoint', address, app.fetch);
}
