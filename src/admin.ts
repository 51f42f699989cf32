// The admin endpoint: health for operators and their monitors.
import { Hono } from 'hono';
import type { Hub } from './hub.ts';
import { HttpListener, type Address } from './listen.ts';

export function adminListener(address: Address, hub: Hub): HttpListener {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const health = hub.health();
    return c.json(health, health.status === 'up' ? 200 : 503);
  });
  return new HttpListener('admin endpoint', address, app.fetch);
}
