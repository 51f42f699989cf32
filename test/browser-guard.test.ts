// Web pages cannot drive the bot through the relay: every endpoint it serves refuses a request from a page
// that is not allowed (Origin, Sec-Fetch-Site) before any upgrade or action, the admin endpoint and the HTTP
// API answer only to names of this machine (Host: DNS rebinding), and admin POSTs must be JSON. Frameworks,
// which send none of these headers, are served as before.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { afterEach, describe, it, mock } from 'node:test';
import type { Browser } from 'playwright-core';
import { BrowserGuard, type BrowserPolicy, hostNameOf, judge, originOf, type Provenance } from '../src/browser-guard.ts';
import type { Settings } from '../src/config.ts';
import { HttpApiAdapter } from '../src/downstream/http-api.ts';
import { WsServerAdapter } from '../src/downstream/ws-server.ts';
import { createLogger } from '../src/log.ts';
import type { HttpLink } from '../src/upstream/http-link.ts';
import type { ReverseListener } from '../src/upstream/reverse-listener.ts';
import { launchChromium } from './chromium.ts';
import { FakeImplementation } from './fake-impl.ts';
import { FakeHttpImplementation, FakeReverseImplementation } from './fake-other-impls.ts';
import { listenOn, startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const EVIL = 'https://evil.example';
const NOBODY: BrowserPolicy = { allowOrigins: [] };
const served = (request: Provenance, policy: BrowserPolicy = NOBODY, listenHost = '127.0.0.1') => !judge(request, policy, listenHost);

describe('browser guard: which requests are served', () => {
  it('serves what frameworks send (no Origin, no Sec-Fetch-Site), and what a user types into the address bar', () => {
    assert.ok(served({}));
    assert.ok(served({ host: '127.0.0.1:6710' }));
    assert.ok(served({ fetchSite: 'none' }));
    assert.ok(served({ fetchSite: 'same-origin' }));
  });

  it('refuses a page that is not allowed: by its Origin, or by Sec-Fetch-Site when it sends none', () => {
    assert.ok(!served({ origin: EVIL }));
    assert.ok(!served({ origin: 'null' }), 'a sandboxed frame or a file');
    assert.ok(!served({ origin: 'http://127.0.0.1:8080' }), 'another port of this machine is another origin');
    assert.ok(!served({ fetchSite: 'cross-site' }));
    assert.ok(!served({ fetchSite: 'same-site' }), 'another port of the same host is the same site');
    const refusal = judge({ origin: EVIL }, NOBODY, '127.0.0.1')!;
    assert.match(refusal.reason, /^refused: web pages from https:\/\/evil\.example may not use this endpoint/);
    assert.match(refusal.fix, /add "https:\/\/evil\.example" to allowOrigins \(--allow-origin\)/);
  });

  it('serves a listed origin however its entry was spelled, and any page with "*"', () => {
    const listed = { allowOrigins: [originOf('HTTPS://Stapxs.GitHub.io:443/')!] };
    assert.ok(served({ origin: 'https://stapxs.github.io', fetchSite: 'cross-site' }, listed));
    assert.ok(!served({ origin: 'http://stapxs.github.io' }, listed), 'another scheme is another origin');
    assert.ok(!served({ origin: 'https://stapxs.github.io.evil.example' }, listed));
    assert.ok(!served({ fetchSite: 'cross-site' }, listed), 'an image or a link carries no Origin to check');
    assert.ok(served({ origin: EVIL, fetchSite: 'cross-site' }, { allowOrigins: ['*'] }));
  });

  it('serves an endpoint its own pages when it checks the Host (the status page)', () => {
    const admin = { allowOrigins: [], allowHosts: [], ownPages: true };
    assert.ok(served({ origin: 'http://127.0.0.1:6720', host: '127.0.0.1:6720' }, admin));
    assert.ok(served({ origin: 'http://localhost:6720', host: 'localhost:6720' }, admin));
    assert.ok(
      served({ origin: 'https://relay.example', host: 'relay.example' }, { ...admin, allowHosts: ['relay.example'] }),
      'behind TLS',
    );
    assert.ok(!served({ origin: 'http://127.0.0.1:8080', host: '127.0.0.1:6720' }, admin));
    assert.ok(!served({ origin: 'http://127.0.0.1:6720', host: '127.0.0.1:6720' }, NOBODY), 'only where it is asked for');
    const link = { fetchSite: 'cross-site', host: '127.0.0.1:6720', opensPage: true };
    assert.ok(served(link, admin), 'a link elsewhere opens the status page');
    assert.ok(!served({ ...link, opensPage: false }, admin), 'in a frame or as an image it is refused');
    assert.ok(!served(link, NOBODY), 'a link elsewhere must not make the HTTP API act (GET /send_group_msg?…)');
  });

  it('answers to IP addresses, localhost, its listen host and listed names only, when it checks the Host', () => {
    const policy = { allowOrigins: [], allowHosts: ['bot.example.com'] };
    for (const host of ['127.0.0.1:6711', '127.0.0.1', '[::1]:6711', '[fe80::1%25eth0]:6711', '192.0.2.7:6711', 'LOCALHOST:6711']) {
      assert.ok(served({ host }, policy, '0.0.0.0'), host);
    }
    assert.ok(served({ host: 'bot.example.com:6711' }, policy), 'listed');
    assert.ok(served({ host: 'bot.example.com.:6711' }, policy), 'with the trailing dot of a fully qualified name');
    assert.ok(served({ host: 'myhost:6711' }, policy, 'myhost'), 'the name it listens on');
    for (const host of ['evil.example:6711', 'bot.example.com.evil.example', 'localhost.evil.example', '[::1', 'a b', 'user@127.0.0.1']) {
      assert.ok(!served({ host }, policy), host);
    }
    assert.match(judge({ host: 'evil.example:6711' }, policy, '127.0.0.1')!.fix, /add it to allowHosts \(--allow-host\)/);
    assert.ok(served({ host: 'evil.example:6711' }, NOBODY), 'an endpoint that does not check the Host');
  });

  it('reads origins and host names as the settings give them', () => {
    assert.equal(originOf('https://Example.com:443/'), 'https://example.com');
    assert.equal(originOf('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.equal(originOf('app://Stapxs'), 'app://stapxs');
    for (const bad of ['null', 'example.com', 'https://example.com/path', 'https://u:p@example.com', 'https://example.com/?q', '*']) {
      assert.equal(originOf(bad), undefined, bad);
    }
    assert.equal(hostNameOf('Bot.Example.com.'), 'bot.example.com');
    assert.equal(hostNameOf('onebot_relay'), 'onebot_relay', 'a Docker service name');
    for (const bad of ['bot.example.com:6711', 'http://bot.example.com', '[::1]', 'a b', '']) assert.equal(hostNameOf(bad), undefined, bad);
  });
});

describe('browser guard: its log', () => {
  afterEach(() => mock.timers.reset());

  it('says once a minute per origin what it refused and how to allow it, however many requests come', () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const lines: string[] = [];
    const guard = new BrowserGuard(
      NOBODY,
      createLogger('info', (l) => lines.push(l)),
      () => 'WebSocket server on 127.0.0.1:6710',
    );
    const from = (origin: string) => new Request('http://127.0.0.1:6710/', { headers: { origin } });
    for (let i = 0; i < 50; i++) assert.equal(guard.refuse(from(EVIL), '127.0.0.1')?.status, 403);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /WARN .*WebSocket server on 127\.0\.0\.1:6710: refused requests from web pages at https:\/\/evil\.example; if you trust that page, add "https:\/\/evil\.example" to allowOrigins/,
    );
    guard.refuse(from('https://other.example'), '127.0.0.1');
    assert.equal(lines.length, 2, 'another origin has a line of its own');
    mock.timers.tick(59_000);
    guard.refuse(from(EVIL), '127.0.0.1');
    assert.equal(lines.length, 2);
    mock.timers.tick(1_000);
    guard.refuse(from(EVIL), '127.0.0.1');
    assert.equal(lines.length, 3, 'again after a minute');
    assert.equal(guard.refuse(new Request('http://127.0.0.1:6710/'), '127.0.0.1'), undefined, 'no Origin: served');
  });

  it('does not let a page trying ever new origins flood the log', () => {
    const lines: string[] = [];
    const guard = new BrowserGuard(
      NOBODY,
      createLogger('info', (l) => lines.push(l)),
      () => 'here',
    );
    for (let i = 0; i < 1000; i++)
      guard.refuse(new Request('http://127.0.0.1/', { headers: { origin: `https://a${i}.example` } }), '127.0.0.1');
    assert.ok(lines.length <= 100, `${lines.length} lines`);
  });
});

/** An HTTP request with any Host and Sec-Fetch-Mode header (fetch sets its own). */
function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const JSON_BODY = { 'Content-Type': 'application/json' };
// Where its endpoints are now: a reload that changes one restarts it, on another port when it asked for port 0.
const httpApiUrl = (relay: TestRelay) => `http://${relay.relay.adapters.find((a) => a instanceof HttpApiAdapter)!.listener.url}`;
const wsUrl = (relay: TestRelay) => `ws://${relay.relay.adapters.find((a) => a instanceof WsServerAdapter)!.listener.url}`;
const adminUrl = (relay: TestRelay) => `http://${relay.relay.admin.url}`;
const sentMessages = (fake: FakeImplementation) => fake.calls.filter((c) => c.action === 'send_group_msg').map((c) => c.params.message);
const refusals = (relay: TestRelay) => relay.logs.filter((l) => /: refused /.test(l));

/** A relay linked to a fake implementation, for the length of `body`. */
async function linked(settings: Settings, body: (relay: TestRelay, fake: FakeImplementation) => Promise<void>): Promise<void> {
  const fake = await FakeImplementation.start();
  const relay = await startTestRelay(fake.url, settings);
  try {
    await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
    await body(relay, fake);
  } finally {
    await relay.stop();
    await fake.stop();
  }
}

describe('browser guard on the endpoints for frameworks', { timeout: 30_000 }, () => {
  it('WebSocket server: a foreign page gets 403 before the upgrade; a framework connects and calls as before', async () => {
    await linked({}, async (relay, fake) => {
      await assert.rejects(TestClient.connect(relay.wsUrl, { Origin: EVIL }), /Unexpected server response: 403/);
      await assert.rejects(TestClient.connect(`${relay.wsUrl}/api`, { 'Sec-Fetch-Site': 'cross-site' }), /403/);
      assert.equal(relay.relay.adapters[0]!.clients().length, 0, 'no session was made');
      const client = await TestClient.connect(relay.wsUrl);
      assert.equal((await client.call('send_group_msg', { group_id: 1, message: 'framework' }, 1)).status, 'ok');
      client.close();
      assert.deepEqual(sentMessages(fake), ['framework']);
      assert.equal(refusals(relay).length, 2, 'one line for the origin, one for the page without one');
    });
  });

  it('HTTP API: a form POST, a JSON POST and an image GET from a foreign page get 403 and reach nothing', async () => {
    await linked({ http: ['127.0.0.1:0'] }, async (relay, fake) => {
      const api = httpApiUrl(relay);
      const form = { method: 'POST', headers: { ...FORM, Origin: EVIL }, body: 'group_id=1&message=form' };
      const refused = await fetch(`${api}/send_group_msg`, form);
      assert.equal(refused.status, 403);
      assert.match(await refused.text(), /^refused: web pages from https:\/\/evil\.example may not use this endpoint/);
      const json = { method: 'POST', headers: { ...JSON_BODY, Origin: EVIL }, body: JSON.stringify({ group_id: 1, message: 'json' }) };
      assert.equal((await fetch(`${api}/send_group_msg`, json)).status, 403);
      const image = { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Dest': 'image' } };
      assert.equal((await fetch(`${api}/send_group_msg?group_id=1&message=image`, image)).status, 403);
      assert.deepEqual(sentMessages(fake), [], 'nothing reached the implementation');

      // What frameworks send: no Origin.
      assert.equal((await fetch(`${api}/send_group_msg`, { method: 'POST', headers: FORM, body: 'group_id=1&message=form' })).status, 200);
      const body = JSON.stringify({ group_id: 1, message: 'json' });
      assert.equal((await fetch(`${api}/send_group_msg`, { method: 'POST', headers: JSON_BODY, body })).status, 200);
      assert.deepEqual(sentMessages(fake), ['form', 'json']);
    });
  });

  it('admin endpoint and HTTP API: a Host that is not a name of this machine gets 403 (DNS rebinding)', async () => {
    await linked(
      {
        http: [{ listen: '127.0.0.1:0', allowHosts: ['api.example'] }],
        allowHosts: ['Relay.Example'],
      },
      async (relay) => {
        const admin = `${relay.adminUrl}/healthz`;
        const api = `${httpApiUrl(relay)}/get_status`;
        const status = async (url: string, host: string) => (await send(url, { headers: { Host: host } })).status;
        for (const host of ['127.0.0.1', 'localhost:80', '[::1]:6720', '203.0.113.9:6720']) {
          assert.equal(await status(admin, host), 200, `admin, Host ${host}`);
          assert.equal(await status(api, host), 200, `HTTP API, Host ${host}`);
        }
        assert.equal(await status(admin, 'evil.example'), 403);
        assert.equal(await status(api, 'evil.example'), 403);
        assert.match((await send(admin, { headers: { Host: 'evil.example' } })).text, /Host "evil\.example" is not a name of this relay/);
        assert.equal(await status(admin, 'relay.example:6720'), 200, 'listed at the top level');
        assert.equal(await status(api, 'relay.example:6720'), 403, "the endpoint's own list wins");
        assert.equal(await status(api, 'api.example'), 200);
        assert.equal(
          await status(`${relay.wsUrl.replace('ws:', 'http:')}/`, 'evil.example'),
          426,
          'the WebSocket server checks Origin, not Host',
        );
      },
    );
  });

  it('admin endpoint: a link elsewhere opens the status page; POST /reload: a foreign page gets 403, a form post 415; JSON, from no page or from its own, reloads', async () => {
    await linked({}, async (relay) => {
      const reload = `${relay.adminUrl}/reload`;
      const reloads = () => relay.logs.filter((l) => /reloaded: /.test(l)).length;
      assert.equal((await fetch(reload, { method: 'POST', headers: { ...JSON_BODY, Origin: EVIL } })).status, 403);
      assert.equal((await fetch(reload, { method: 'POST', headers: { ...FORM, Origin: EVIL }, body: 'a=1' })).status, 403);
      for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
        const res = await fetch(reload, { method: 'POST', headers: { 'Content-Type': type }, body: '' });
        assert.equal(res.status, 415, type);
        assert.match(await res.text(), /needs Content-Type: application\/json/);
      }
      assert.equal((await fetch(reload, { method: 'POST' })).status, 415, 'an empty POST is what a page sends with no body');
      assert.equal(reloads(), 0, 'nothing was reloaded');
      assert.equal((await fetch(reload, { method: 'POST', headers: JSON_BODY })).status, 200);
      const link = { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' };
      // (Node's fetch sets Sec-Fetch-Mode itself.)
      assert.equal((await send(`${relay.adminUrl}/`, { headers: link })).status, 200, 'a link elsewhere opens the status page');
      assert.equal((await send(`${relay.adminUrl}/`, { headers: { ...link, 'Sec-Fetch-Dest': 'iframe' } })).status, 403, 'no frame');
      assert.equal((await send(reload, { method: 'POST', headers: { ...JSON_BODY, ...link } })).status, 403);
      const own = { ...JSON_BODY, Origin: relay.adminUrl, 'Sec-Fetch-Site': 'same-origin' };
      assert.equal((await fetch(reload, { method: 'POST', headers: own, body: '{}' })).status, 200);
      assert.equal(reloads(), 2);
    });
  });

  it('admin POST /reload with the admin token: the token shows the caller, whatever the body', async () => {
    await linked({ adminToken: 'adm' }, async (relay) => {
      const res = await fetch(`${relay.adminUrl}/reload`, {
        method: 'POST',
        headers: { ...FORM, Authorization: 'Bearer adm' },
        body: 'a=1',
      });
      assert.equal(res.status, 200);
      assert.equal((await fetch(`${relay.adminUrl}/reload`, { method: 'POST', headers: FORM, body: 'a=1' })).status, 401);
    });
  });
});

describe('browser guard on the upstream listeners', { timeout: 30_000 }, () => {
  it('reverse WebSocket listener: a foreign page gets 403 and is no upstream; the implementation dials in as before', async () => {
    const relay = await startTestRelay(undefined, { upstreamListen: '127.0.0.1:0' });
    const fake = new FakeReverseImplementation();
    const url = `ws://${(relay.relay.upstreams[0] as ReverseListener).listener.url}/onebot/v11/ws`;
    try {
      await assert.rejects(fake.connect(url, 'Universal', undefined, { Origin: EVIL }), /HTTP 403/);
      assert.equal(relay.relay.hub.health().status, 'down');
      const upstream = await fake.connect(url, 'Universal');
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      upstream.close();
    } finally {
      await relay.stop();
    }
  });

  it('HTTP POST receiver: an event posted by a foreign page gets 403 and reaches no client', async () => {
    const fake = await FakeHttpImplementation.start();
    const relay = await startTestRelay(fake.url, { upstreamPostListen: '127.0.0.1:0' });
    const client = await TestClient.connect(relay.wsUrl);
    const receiver = `http://${(relay.relay.upstreams[0] as HttpLink).receiver.url}/`;
    try {
      assert.deepEqual((await fake.post(receiver, 1, undefined, { Origin: EVIL })).statuses, [403]);
      const { sent, statuses } = await fake.post(receiver, 1);
      assert.deepEqual(statuses, [204]);
      await client.waitForFrames(() => client.events().length === 1, 'the event the implementation posted');
      assert.deepEqual(client.events(), sent, 'only that one');
    } finally {
      client.close();
      await relay.stop();
      await fake.kill();
    }
  });
});

describe('allowOrigins', { timeout: 30_000 }, () => {
  const TRUSTED = 'https://stapxs.github.io';

  it('lets a listed page use an endpoint: its own list wins over the top-level one, which the others follow', async () => {
    await linked(
      {
        ws: [{ listen: '127.0.0.1:0', allowOrigins: [TRUSTED] }],
        http: ['127.0.0.1:0'],
        allowOrigins: ['https://other.example'],
      },
      async (relay, fake) => {
        const page = await TestClient.connect(relay.wsUrl, { Origin: TRUSTED, 'Sec-Fetch-Site': 'cross-site' });
        assert.equal((await page.call('send_group_msg', { group_id: 1, message: 'ws' }, 1)).status, 'ok');
        page.close();
        await assert.rejects(TestClient.connect(relay.wsUrl, { Origin: 'https://other.example' }), /403/);
        const body = JSON.stringify({ group_id: 1, message: 'http' });
        const api = `${httpApiUrl(relay)}/send_group_msg`;
        assert.equal((await fetch(api, { method: 'POST', headers: { ...JSON_BODY, Origin: 'https://other.example' }, body })).status, 200);
        assert.equal((await fetch(api, { method: 'POST', headers: { ...JSON_BODY, Origin: TRUSTED }, body })).status, 403);
        assert.deepEqual(sentMessages(fake), ['ws', 'http']);
        assert.ok(!relay.logs.some((l) => /allowOrigins "\*"/.test(l)));
      },
    );
  });

  it('"*" lets any page in and is warned about at start; a reload takes it away', async () => {
    await linked({ allowOrigins: ['*'] }, async (relay) => {
      assert.ok(
        relay.logs.some((l) => /WARN .*WebSocket server on 127\.0\.0\.1:\d+: allowOrigins "\*": any web page, in any browser/.test(l)),
      );
      const page = await TestClient.connect(relay.wsUrl, { Origin: EVIL });
      page.close();
      relay.settings.allowOrigins = [];
      assert.equal(await relay.relay.reload(), true);
      await assert.rejects(TestClient.connect(wsUrl(relay), { Origin: EVIL }), /403/, 'a reload applies it');
    });
  });

  it('refuses a setting that is not an origin, saying what is expected', async () => {
    await assert.rejects(
      startTestRelay(undefined, { allowOrigins: ['https://example.com/app/'] }),
      /allowOrigins\.0: expected an origin such as/,
    );
    await assert.rejects(
      startTestRelay(undefined, { http: [{ listen: '127.0.0.1:0', allowHosts: ['a.example:80'] }] }),
      /http\.0\.allowHosts\.0: expected a host name/,
    );
  });
});

describe('a web page in Chromium', { timeout: 60_000 }, () => {
  /** The attacker's page, on 127.0.0.1 too (another port: another origin, but the same site), aimed at the relay's endpoints as they are now. */
  const attack = (relay: TestRelay) => {
    const api = httpApiUrl(relay);
    return `<!doctype html><title>a page</title><iframe name="sink"></iframe><iframe name="sink2"></iframe>
<form id="f" method="POST" action="${api}/send_group_msg" target="sink"><input name="group_id" value="1"><input name="message" value="form"></form>
<form id="g" method="POST" action="${adminUrl(relay)}/reload" target="sink2"><input name="a" value="1"></form>
<img src="${api}/send_group_msg?group_id=1&amp;message=image">
<script>
var socket = new WebSocket('${wsUrl(relay)}/');
socket.onopen = function () { socket.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: 1, message: 'ws' }, echo: 1 })); };
socket.onmessage = function (e) { if (JSON.parse(e.data).echo === 1) window.ws = 'answered'; };
socket.onerror = function () { window.ws = 'refused'; };
document.getElementById('f').submit();
document.getElementById('g').submit();
</script>`;
  };

  it('from another local port cannot open the WebSocket, post a form to the HTTP API or the admin endpoint, or load them as an image', async () => {
    await linked({ http: ['127.0.0.1:0'] }, async (relay, fake) => {
      const site = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(attack(relay)));
      const origin = `http://127.0.0.1:${await listenOn(site)}`;
      let browser: Browser | undefined;
      /** Open the page; what became of its WebSocket, and the statuses of its form posts and its image. */
      const visit = async () => {
        const tab = await browser!.newPage();
        const responses = Promise.all(
          [/send_group_msg$/, /send_group_msg\?/, /\/reload$/].map((url) =>
            tab.waitForResponse((r) => url.test(r.url()), { timeout: 10_000 }),
          ),
        );
        await tab.goto(origin);
        await tab.waitForFunction(() => (window as unknown as { ws?: string }).ws !== undefined, undefined, { timeout: 10_000 });
        const [form, image, reload] = (await responses).map((r) => r.status());
        const ws = await tab.evaluate(() => (window as unknown as { ws: string }).ws);
        await tab.close();
        return { ws, form, image, reload };
      };
      try {
        browser = await launchChromium();
        assert.deepEqual(await visit(), { ws: 'refused', form: 403, image: 403, reload: 403 });
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(sentMessages(fake), [], 'nothing reached the implementation');
        assert.ok(!relay.logs.some((l) => /reloaded: /.test(l)));
        assert.ok(refusals(relay).some((l) => l.includes(`refused requests from web pages at ${origin}`)));

        // The same page, once allowed: the WebSocket and the form get through; the image, which names no origin,
        // still does not, and the admin endpoint still takes no form post.
        relay.settings.allowOrigins = [origin];
        assert.equal(await relay.relay.reload(), true);
        assert.deepEqual(await visit(), { ws: 'answered', form: 200, image: 403, reload: 415 });
        await waitFor(() => sentMessages(fake).length === 2, 'the calls of the allowed page');
        assert.deepEqual(sentMessages(fake).sort(), ['form', 'ws']);
      } finally {
        await browser?.close();
        site.closeAllConnections();
        await new Promise((r) => site.close(r));
      }
    });
  });
});
