// Local fakes of the alert services' APIs on one HTTP server on 127.0.0.1, each at the path its real service uses
// and answering as it does: DingTalk and Feishu check their signatures (and answer an error code in an HTTP 200
// when it is wrong, as they do), Discord answers 204, the others their success codes. Every request is recorded.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { listenOn, readBody } from './helpers.ts';

export interface ServiceRequest {
  service: string;
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingMessage['headers'];
  body: any;
  at: number;
}

export const KEYS = {
  dingtalkToken: 'dt0123456789abcdef',
  dingtalkSecret: 'SEC0123456789abcdefdingtalk',
  feishuToken: '5e3d587e-d78e-4a07-bd07-265f269f86fd',
  feishuSecret: 'nIMtb7r3N9pkXyXdtAbx6e',
  wecomKey: '693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa',
  serverchanKey: 'SCT123456TabcdefSENDKEY',
  barkKey: 'BarkDeviceKey0123',
  telegramToken: '123456789:AAE_telegram-token-value',
  discordToken: 'discord-webhook-token-value-0123',
} as const;

export class FakeAlertServices {
  readonly requests: ServiceRequest[] = [];
  /** HTTP status a path answers instead (a service that is down). */
  readonly failing = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeAlertServices> {
    let services: FakeAlertServices | undefined;
    const server = createServer(async (req, res) => {
      const text = await readBody(req);
      const answer = services!.handle(req, text);
      res
        .writeHead(answer.status, answer.body === undefined ? {} : { 'content-type': 'application/json' })
        .end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
    const port = await listenOn(server);
    services = new FakeAlertServices(server, port);
    return services;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  of(service: string): ServiceRequest[] {
    return this.requests.filter((r) => r.service === service);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, text: string): { status: number; body?: unknown } {
    const url = new URL(req.url!, this.base);
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const service = serviceOf(url.pathname);
    this.requests.push({ service, method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() });
    const failing = this.failing.get(url.pathname);
    if (failing) return { status: failing, body: { error: 'down for the test' } };
    switch (service) {
      case 'dingtalk': {
        const timestamp = Number(url.searchParams.get('timestamp'));
        const expected = createHmac('sha256', KEYS.dingtalkSecret).update(`${timestamp}\n${KEYS.dingtalkSecret}`).digest('base64');
        if (url.searchParams.get('access_token') !== KEYS.dingtalkToken)
          return { status: 200, body: { errcode: 300001, errmsg: 'token is not exist' } };
        if (Math.abs(Date.now() - timestamp) > 3_600_000 || url.searchParams.get('sign') !== expected) {
          return { status: 200, body: { errcode: 310000, errmsg: 'sign not match' } };
        }
        return { status: 200, body: { errcode: 0, errmsg: 'ok' } };
      }
      case 'feishu': {
        const timestamp = Number(body?.timestamp);
        const expected = createHmac('sha256', `${timestamp}\n${KEYS.feishuSecret}`).update('').digest('base64');
        if (Math.abs(Date.now() / 1000 - timestamp) > 3600 || body?.sign !== expected) {
          return {
            status: 200,
            body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time', data: {} },
          };
        }
        return { status: 200, body: { code: 0, msg: 'success', data: {} } };
      }
      case 'wecom':
        return {
          status: 200,
          body:
            url.searchParams.get('key') === KEYS.wecomKey
              ? { errcode: 0, errmsg: 'ok' }
              : { errcode: 93000, errmsg: 'invalid webhook url' },
        };
      case 'serverchan':
        return { status: 200, body: { code: 0, message: '', data: { pushid: '1', readkey: 'r', error: 'SUCCESS', errno: 0 } } };
      case 'bark':
        return { status: 200, body: { code: 200, message: 'success', timestamp: Math.floor(Date.now() / 1000) } };
      case 'telegram':
        return { status: 200, body: { ok: true, result: { message_id: 1, chat: { id: body?.chat_id }, text: body?.text } } };
      case 'discord':
        return { status: 204 };
      default:
        return { status: 200, body: { received: true } };
    }
  }
}

/** Which service a path belongs to: the paths the real services use. */
function serviceOf(path: string): string {
  if (path === '/robot/send') return 'dingtalk';
  if (path.startsWith('/open-apis/bot/v2/hook/')) return 'feishu';
  if (path === '/cgi-bin/webhook/send') return 'wecom';
  if (path.endsWith('.send')) return 'serverchan';
  if (/^\/bot[^/]+\/sendMessage$/.test(path)) return 'telegram';
  if (path.startsWith('/api/webhooks/')) return 'discord';
  if (path === `/${KEYS.barkKey}`) return 'bark';
  return 'webhook';
}
