// What the Koishi tests share: just enough Koishi typings, its modules loaded, the group message they exchange, and
// an app serving OneBot bots (ws-reverse or http) for the relay to reach.
import assert from 'node:assert/strict';
import type { Server as NodeServer } from 'node:http';
import { createRequire } from 'node:module';
import { type FakeImplementation, GROUP, SENDER } from './fake-impl.ts';
import { freePort, waitFor } from './helpers.ts';

// Just the parts of Koishi these tests touch (its own typings do not fit a plain `ctx.plugin(OneBot, config)` call).
export interface KoishiSession {
  platform: string;
  selfId: string;
  type: string;
  userId?: string;
  guildId?: string;
  channelId?: string;
  messageId?: string;
  content?: string;
  send(content: string): Promise<string[]>;
}
export interface KoishiBot {
  platform: string;
  selfId: string;
  status: number;
  /** Filled from the get_login_info reply. */
  user: { id?: string; name?: string };
  error?: unknown;
}
export interface KoishiFork {
  dispose(): unknown;
}
/** The Koa context of @koishijs/plugin-server's routes (koa-body fills request.body). */
export interface KoaContext {
  body: unknown;
  request: { body?: unknown };
}
export interface KoishiServer {
  /** The port it actually listens on (it probes upwards from the configured one). */
  port?: number;
  _http: NodeServer;
  post(path: string, middleware: (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>): unknown;
}
export interface KoishiContext {
  bots: KoishiBot[];
  /** Only with the server plugin. */
  server: KoishiServer;
  plugin(plugin: unknown, config?: object): KoishiFork;
  on(event: 'message', listener: (session: KoishiSession) => void): () => boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}
interface KoishiModule {
  Context: new () => KoishiContext;
  Universal: { Status: { OFFLINE: number; ONLINE: number } };
}

// Koishi's ESM entry does not load under plain node; its CommonJS entry does.
const require = createRequire(import.meta.url);
export const koishi = require('koishi') as KoishiModule;
export const HTTP = (require('@koishijs/plugin-http') as { default: unknown }).default;
export const Server = (require('@koishijs/plugin-server') as { default: unknown }).default;
export const OneBot = (require('koishi-plugin-adapter-onebot') as { default: unknown }).default;

/**
 * The OneBot bot's `responseTimeout` for calls it sends over a WebSocket. Its reply timers are never cleared, so each
 * call holds the event loop this long: above the relay's call timeout (2 s in tests) with room for a slow CI
 * machine, and short enough that the process exits soon after the last call.
 */
export const RESPONSE_TIMEOUT = 6000;

export { GROUP, SENDER, textMessage as groupMessage } from './fake-impl.ts';

export const loginCalls = (fake: FakeImplementation) => fake.calls.filter((c) => c.action === 'get_login_info').length;

export interface KoishiApp {
  ctx: KoishiContext;
  /** The plugins to dispose before the app stops, in the order they were added. */
  forks: KoishiFork[];
  received: KoishiSession[];
  sendResults: (string[] | Error)[];
}

/** Record every message `app.ctx` gets, and answer "ping ..." in the same group, recording what each send settles to. */
export function answerPings(app: KoishiApp): void {
  app.ctx.on('message', (session) => {
    app.received.push(session);
    if (session.content?.startsWith('ping')) {
      session.send(`pong to ${session.userId}: 你好`).then(
        (ids) => app.sendResults.push(ids),
        (error: unknown) => app.sendResults.push(error instanceof Error ? error : new Error(String(error))),
      );
    }
  });
}

/**
 * Dispose the plugins last to first, then stop: a bare ctx.stop() throws inside the bot's dispose (ctx.bots is
 * already gone) and inside the server's (its logger is already gone, so it never closes its HTTP server).
 */
export async function stopApp(app: KoishiApp | undefined): Promise<void> {
  if (!app) return;
  for (const fork of [...app.forks].reverse()) await fork.dispose();
  await app.ctx.stop();
}

/** Wait for the app's OneBot bot to come online as `selfId`; returns it. */
export async function botOnline(app: KoishiApp, selfId: number): Promise<KoishiBot> {
  const { ctx } = app;
  await waitFor(() => ctx.bots.some((b) => b.status === koishi.Universal.Status.ONLINE), 'the Koishi bot to come online', 10_000);
  const bot = ctx.bots[0]!;
  assert.equal(bot.platform, 'onebot');
  assert.equal(bot.selfId, String(selfId));
  return bot;
}

/** A session of the group message groupMessage(selfId, messageId, text) builds. */
export function assertSession(session: KoishiSession, selfId: number, messageId: number, text: string): void {
  assert.equal(session.type, 'message-created', "Koishi's canonical name for 'message'");
  assert.equal(session.platform, 'onebot');
  assert.equal(session.selfId, String(selfId));
  assert.equal(session.content, text);
  assert.equal(session.guildId, String(GROUP));
  assert.equal(session.channelId, String(GROUP));
  assert.equal(session.userId, String(SENDER));
  assert.equal(session.messageId, String(messageId));
}

/** The handler's reply reached the implementation as send_group_msg, and its message id came back to Koishi. */
export async function assertReplySent(app: KoishiApp, fake: FakeImplementation): Promise<void> {
  await waitFor(() => app.sendResults.length === 1, "Koishi's session.send to settle", RESPONSE_TIMEOUT + 2000);
  const result = app.sendResults[0]!;
  if (result instanceof Error) throw result;
  const sends = fake.calls.filter((c) => c.action === 'send_group_msg');
  assert.equal(sends.length, 1);
  const { params } = sends[0]!;
  assert.equal(params.group_id, GROUP);
  assert.deepEqual(params.message, [{ type: 'text', data: { text: `pong to ${SENDER}: 你好` } }]);
  // The fake numbers its replies from 1001: the id came back through the relay to Koishi.
  assert.deepEqual(result, ['1001']);
}

/** Where a serving app's OneBot bot listens. */
export const PATH = '/onebot';

export interface ServingApp extends KoishiApp {
  /** Where its server listens. */
  port: number;
}

/**
 * Works around koishi-plugin-adapter-onebot 6.9.4's HTTP receiver, which reads `ctx.body` (Koa's *response* body,
 * still undefined) where it means the parsed request body: its signature check then throws (HTTP 500) and no event
 * is ever dispatched. plugin-server parses the body (koa-body, into `ctx.request.body`) before each route, and
 * @koa/router runs every route matching a path in the order they were registered; so a route on the same path,
 * registered before the adapter's (which it only adds when the bot starts), can hand the parsed body over.
 * Nothing else changes: the adapter still checks the signature over JSON.stringify of that body and sets the status.
 */
const BodyForOneBot = {
  name: 'onebot-request-body-as-ctx-body',
  inject: ['server'],
  apply(ctx: KoishiContext, config: { path: string }) {
    ctx.server.post(config.path, async (c, next) => {
      c.body = c.request.body;
      await next();
    });
  },
};

/**
 * A started Koishi app with the HTTP client and a server listening on 127.0.0.1 (its port is `app.port`), but no bot
 * yet: the relay is then pointed at the port it really got. Its message handler answers "ping ..." in the same group.
 */
export async function servingApp(fixBody = false): Promise<ServingApp> {
  const ctx = new koishi.Context();
  // Only a starting point: plugin-server does not listen at all on port 0.
  const from = await freePort();
  // If another process took the port meanwhile, the server tries the next ones.
  const forks = [ctx.plugin(HTTP), ctx.plugin(Server, { host: '127.0.0.1', port: from, maxPort: from + 100 })];
  if (fixBody) forks.push(ctx.plugin(BodyForOneBot, { path: PATH }));
  const app: ServingApp = { ctx, forks, port: 0, received: [], sendResults: [] };
  answerPings(app);
  await ctx.start();
  // plugin-server does not wait for its listen() to complete.
  await waitFor(() => ctx.server._http.listening, "Koishi's server to listen");
  app.port = ctx.server.port!;
  return app;
}

/** Add the OneBot bot (serving PATH) to a running app. */
export function addBot(app: ServingApp, config: Record<string, unknown>): void {
  app.forks.push(app.ctx.plugin(OneBot, { path: PATH, ...config }));
}
