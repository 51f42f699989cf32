// The HTTP upstream: calls go to the implementation's HTTP API, events arrive as HTTP POSTs to the relay.
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { sameToken, signature } from '../auth.ts';
import { fetchFailure } from '../fetch-failure.ts';
import { fieldBytes } from '../json-text.ts';
import { type Address, HttpListener, readBody } from '../listen.ts';
import { type Logger, redactUrl } from '../log.ts';
import { failedReply, isJsonObject, RelayRetcode } from '../onebot.ts';
import { type ReconnectOptions, Reconnector } from '../reconnector.ts';
import type { LinkHost, LinkPort, Upstream, UpstreamSink } from './upstream.ts';

export interface HttpLinkOptions {
  /** Base URL of the implementation's HTTP API. */
  url: string;
  token: string;
  /** Where the implementation POSTs events. */
  postListen: Address;
  /** Web pages that may POST there (none, unless allowed: implementations send no Origin). */
  allowOrigins: readonly string[];
  /** Verify X-Signature of event POSTs with this key (NapCat and LLOneBot sign with their access token). */
  secret: string;
  /** Probe get_status this often while up, ms. */
  probeEvery: number;
  /** Largest event POST accepted (413 beyond), bytes. */
  maxPayload: number;
  probeTimeout: number;
  callTimeout: number;
  reconnect: ReconnectOptions;
}

/** JSON's null, as bytes: params of null are posted as {}. */
const NULL = Buffer.from('null');

export class HttpLink implements Upstream, LinkPort {
  private readonly sink: UpstreamSink;
  readonly target: string;
  private readonly base: string;
  readonly receiver: HttpListener;
  private readonly reconnector: Reconnector;
  private stopped = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly options: HttpLinkOptions,
    host: LinkHost,
    private readonly log: Logger,
  ) {
    this.base = options.url.replace(/\/+$/, '');
    this.target = redactUrl(options.url);
    this.reconnector = new Reconnector(`upstream ${this.target}`, () => void this.probe(), options.reconnect, log);
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.post('*', async (c) => {
      const body = await readBody(c.env.incoming, options.maxPayload);
      if (!body) return c.text(`event body over ${options.maxPayload} bytes`, 413);
      if (options.secret) {
        const given = c.req.header('x-signature');
        if (!given) return c.text('missing X-Signature', 401);
        if (!sameToken(given, signature(options.secret, body))) return c.text('wrong X-Signature', 403);
      }
      // Answered once read and checked, its fan-out after: an implementation posts its events one at a time, each
      // waiting for this answer. setImmediate keeps them in order.
      if (!this.sink.frame(body, (work) => setImmediate(() => this.handle(work))))
        return c.text('the body must be one JSON event object', 400);
      return c.body(null, 204);
    });
    app.all('*', (c) => c.text('onebot-relay: POST events here', 405));
    this.receiver = new HttpListener('upstream HTTP POST receiver', options.postListen, app.fetch, {
      browsers: { allowOrigins: options.allowOrigins },
      log,
    });
    this.sink = host.attach(this);
  }

  /** What an event set off, after its POST was answered: a failure is logged, as for a frame on a WebSocket. */
  private handle(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.log.error(`an event POSTed to the relay could not be handled: ${(err as Error).stack ?? err}`);
    }
  }

  get problem(): string | undefined {
    return this.reconnector.lastFailure;
  }

  async start(): Promise<void> {
    await this.receiver.open();
    this.log.info(`calling ${this.target}; receiving events on http://${this.receiver.url}/`);
    void this.probe();
  }

  send(frame: string | Buffer): boolean {
    if (!this.reconnector.isUp) return false;
    if (typeof frame === 'string') {
      const { action, params, echo } = JSON.parse(frame) as { action: string; params: unknown; echo: unknown };
      void this.call(action, JSON.stringify(params ?? {}), echo);
    } else {
      // A large call (an image in base64) comes as its bytes: its params are posted as they are, never parsed.
      const read = (key: string) => {
        const value = fieldBytes(frame, key);
        return value && (JSON.parse(value.toString()) as unknown);
      };
      const params = fieldBytes(frame, 'params');
      void this.call(String(read('action')), params && !params.equals(NULL) ? params : '{}', read('echo'));
    }
    return true;
  }

  kill(why: string): void {
    this.lost(`closed by the relay: ${why}`, 'relay');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnector.stop();
    clearTimeout(this.probeTimer);
    await this.receiver.close();
  }

  /** `params`: the JSON body, as text or bytes. */
  private async call(action: string, params: string | Buffer, echo: unknown): Promise<void> {
    let reply: Record<string, unknown>;
    try {
      reply = await this.replyOf(await this.post(action, params, this.options.callTimeout));
    } catch (err) {
      // A call that timed out is answered by the call router; anything else means the link is gone.
      const failure = fetchFailure(err);
      if (!failure.timedOut) this.lost(`HTTP API unreachable: ${failure.why}`, 'network');
      return;
    }
    this.sink.frame(Buffer.from(JSON.stringify({ ...reply, echo })));
  }

  private async replyOf(res: Response): Promise<Record<string, unknown>> {
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.status === 401 || res.status === 403) {
      this.log.warn(`the implementation refused the token with HTTP ${res.status} (check --upstream-token)`);
      return failedReply(res.status === 401 ? 1401 : 1403, `the implementation refused the relay's token (HTTP ${res.status})`);
    }
    if (isJsonObject(body)) return body;
    if (res.status === 404) return failedReply(1404, 'unknown action (HTTP 404 from the implementation)');
    return failedReply(RelayRetcode.outcomeUnknown, `the implementation answered HTTP ${res.status} without a JSON reply`);
  }

  private post(action: string, params: string | Buffer, timeout: number): Promise<Response> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    return fetch(`${this.base}/${encodeURIComponent(action)}`, {
      method: 'POST',
      headers,
      // A Buffer's memory is never shared here: it is the ArrayBuffer fetch's types ask for.
      body: params as string | Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(timeout),
    });
  }

  /** get_status answered (whatever it says) means the API is there. One probe at a time. */
  private async probe(): Promise<void> {
    if (this.stopped || this.probing) return;
    this.probing = true;
    clearTimeout(this.probeTimer);
    try {
      const res = await this.post('get_status', '{}', this.options.probeTimeout);
      await res.arrayBuffer();
      if (res.status === 401 || res.status === 403) throw new Error(`HTTP ${res.status} (check --upstream-token)`);
    } catch (err) {
      const failure = fetchFailure(err);
      this.lost(failure.timedOut ? `get_status unanswered within ${this.options.probeTimeout} ms` : failure.why, 'network');
      return;
    } finally {
      this.probing = false;
    }
    if (this.stopped) return;
    if (!this.reconnector.isUp) {
      this.reconnector.up();
      this.log.info(`upstream up: ${this.target}`);
      this.sink.linkUp();
    }
    this.probeTimer = setTimeout(() => void this.probe(), this.options.probeEvery);
  }

  private lost(reason: string, by: 'relay' | 'network'): void {
    if (this.stopped) return;
    clearTimeout(this.probeTimer);
    if (!this.reconnector.isUp) {
      this.reconnector.failed(reason);
      return;
    }
    this.reconnector.lost();
    this.log.warn(`upstream down: ${reason}`);
    this.sink.linkDown({ by, reason });
  }
}
