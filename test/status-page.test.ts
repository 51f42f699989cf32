// The status page (GET / on the admin endpoint) in a real headless Chromium: it shows the link and the
// clients, updates live as things change, works on a phone-sized screen, and throws no script errors.
// Screenshots go to test-artifacts/; UPDATE_SCREENSHOT=1 also refreshes test/screenshots/status-page.png (the README's).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { STATUS_PAGE } from '../src/status-page.ts';
import { launchChromium } from './chromium.ts';
import { FakeAlertServices, KEYS } from './fake-alert-services.ts';
import { FakeWebhook } from './fake-framework.ts';
import { FakeImplementation } from './fake-impl.ts';
import { FakeReverseImplementation } from './fake-other-impls.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const README_SHOT = fileURLToPath(new URL('./screenshots/status-page.png', import.meta.url));
const README_ACCOUNTS_SHOT = fileURLToPath(new URL('./screenshots/status-page-accounts.png', import.meta.url));
const README_ALERTS_SHOT = fileURLToPath(new URL('./screenshots/status-page-alerts.png', import.meta.url));
const TOKEN = 'adm';

/** Wait until `selector` (optionally with that text) is visible on the page. */
async function shows(page: Page, selector: string, text?: string | RegExp, timeout = 10_000): Promise<void> {
  const target = page.locator(selector, text === undefined ? {} : { hasText: text }).first();
  await target.waitFor({ state: 'visible', timeout }).catch(async () => {
    const seen = await page
      .locator(selector)
      .allTextContents()
      .catch(() => []);
    assert.fail(`the page never showed ${selector}${text === undefined ? '' : ` with ${text}`}; it shows ${JSON.stringify(seen)}`);
  });
}

async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').trim();
}

describe('status page', { timeout: 60_000 }, () => {
  it('is one self-contained document whose script is ES5 syntax', () => {
    assert.doesNotMatch(STATUS_PAGE, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external scripts, styles or fonts');
    assert.doesNotMatch(STATUS_PAGE, /@import|url\(/i);
    const script = /<script>([\s\S]*?)<\/script>/.exec(STATUS_PAGE)?.[1];
    assert.ok(script, 'one inline script');
    // esbuild refuses what it cannot lower to ES5 and lowers the rest: ES5 source comes out as it would untouched.
    const es5 = transformSync(script, { loader: 'js', target: 'es5' }).code;
    const untouched = transformSync(script, { loader: 'js', target: 'esnext', supported: { 'object-extensions': false } }).code;
    assert.equal(es5, untouched, 'the script uses only ES5 syntax (old Windows Server consoles have IE11)');
  });

  it('shows the link, the endpoints and their clients live, call latency, and the link going down', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const fake = await FakeImplementation.start({ heartbeat: 1000 });
    const hook = await FakeWebhook.start();
    let relay: TestRelay | undefined;
    let browser: Browser | undefined;
    const clients: TestClient[] = [];
    const errors: string[] = [];
    try {
      relay = await startTestRelay(fake.url, { adminToken: TOKEN, post: [hook.url] });
      const pageUrl = `${relay.adminUrl}/?access_token=${TOKEN}`;

      // Every admin route needs the token; the page passes on the one it was loaded with.
      assert.equal((await fetch(`${relay.adminUrl}/`)).status, 401);
      assert.equal((await fetch(`${relay.adminUrl}/events`)).status, 401);
      assert.equal((await fetch(`${relay.adminUrl}/?access_token=wrong`)).status, 403);
      const served = await fetch(pageUrl);
      assert.equal(served.status, 200);
      assert.match(served.headers.get('content-type') ?? '', /^text\/html/);

      browser = await launchChromium();
      const desktop = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
      const page = await desktop.newPage();
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => void (m.type() === 'error' && errors.push(`console: ${m.text()}`)));
      let loads = 0;
      page.on('load', () => loads++);
      await page.goto(pageUrl);

      await shows(page, '[data-testid=health][data-status=up]');
      await shows(page, '[data-testid=live][data-state=live]');
      await shows(page, '[data-testid=nickname]', /^fake-bot$/);
      assert.equal(await text(page, '[data-testid=self-id]'), String(fake.selfId));
      assert.equal(await text(page, '[data-testid=state]'), 'up');
      assert.equal(await text(page, '[data-testid=target]'), `${fake.url}/`);
      assert.equal(await page.locator('[data-testid=endpoint]').count(), 2, 'the WebSocket server and the POST target');
      await shows(page, '[data-testid=endpoint-name]', /^HTTP POST to /);
      await shows(page, '[data-testid=heartbeat]', / ago$/);
      assert.equal(await page.locator('[data-testid=client-row]', { hasText: 'nonebot' }).count(), 0);

      // A client connects: the page shows it without being reloaded (the reachable POST target counts as one too).
      await shows(page, '[data-testid=clients-connected]', /^1$/);
      clients.push(await TestClient.connect(`${relay.wsUrl}/?client=nonebot`));
      await shows(page, '[data-testid=client-row][data-connected=true]', 'nonebot');
      await shows(page, '[data-testid=clients-connected]', /^2$/);
      clients.push(await TestClient.connect(`${relay.wsUrl}/event`));
      await shows(page, '[data-testid=clients-connected]', /^3$/);

      // Calls and events: a latency row per action, and the counts move.
      for (let i = 0; i < 3; i++) await clients[0]!.call('send_group_msg', { group_id: 123456, message: `hello ${i}` }, `m${i}`);
      await clients[0]!.call('get_status', {}, 's');
      fake.emit(5);
      await shows(page, '[data-testid=call-row][data-action=send_group_msg] td:nth-child(2)', /^3$/);
      await shows(page, '[data-testid=call-row][data-action=get_status]');
      await shows(page, '[data-testid=client-row]:has-text("nonebot") td:nth-child(6)', /^5$/, 5000); // delivered
      assert.ok(Number((await text(page, '[data-testid=events-received]')).replace(/,/g, '')) >= 5);
      await page.screenshot({ path: `${ARTIFACTS}status-page-desktop.png` });

      // The implementation dies: the banner turns to down and says why.
      await fake.kill();
      await shows(page, '[data-testid=health][data-status=down]');
      await shows(page, '[data-testid=health-reasons] li', /connection lost/);
      await shows(page, '[data-testid=last-down]', /\(1006\) · by network$/);
      await shows(page, '[data-testid=warning]');
      await page.screenshot({ path: `${ARTIFACTS}status-page-down.png` });

      // It comes back: up again, one reconnect, the drop still shown.
      await fake.restart();
      await shows(page, '[data-testid=health][data-status=up]');
      await shows(page, '[data-testid=reconnects]', /^1$/);
      fake.emit(3);
      await shows(page, '[data-testid=events-received]', /^(?:[89]|\d\d+)$/);
      await page.screenshot({ path: `${ARTIFACTS}status-page-recovered.png` });
      // The README's: narrower, so that it stays legible when GitHub scales it down.
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.screenshot({ path: `${ARTIFACTS}status-page-readme.png`, fullPage: true });
      if (process.env.UPDATE_SCREENSHOT === '1') {
        mkdirSync(fileURLToPath(new URL('./screenshots/', import.meta.url)), { recursive: true });
        copyFileSync(`${ARTIFACTS}status-page-readme.png`, README_SHOT);
      }

      // The reload button: a JSON POST carrying the page's own origin, which the relay lets in (a foreign one it refuses).
      const [reload] = await Promise.all([page.waitForRequest(/\/reload\b/), page.click('[data-testid=reload]')]);
      await shows(page, '[data-testid=reload-result]', /^Settings reloaded at /);
      assert.equal(await reload.headerValue('origin'), relay.adminUrl);
      assert.ok(relay.logs.some((l) => /reloaded: nothing changed/.test(l)));
      assert.equal(loads, 1, 'everything above arrived without a reload');

      // What clients and the network say is shown as text, never run as markup.
      const hostile = '<img src=x onerror=alert(1)>';
      clients.push(await TestClient.connect(`${relay.wsUrl}/?client=${encodeURIComponent(hostile)}`));
      await shows(page, '[data-testid=client-row]', hostile);
      assert.equal(await page.locator('[data-testid=endpoints] img').count(), 0);

      // A phone: everything readable without scrolling sideways (only tables scroll, inside their box).
      const phoneContext = await browser.newContext({
        viewport: { width: 375, height: 812 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      const phone = await phoneContext.newPage();
      phone.on('pageerror', (e) => errors.push(`phone pageerror: ${e.message}`));
      phone.on('console', (m) => void (m.type() === 'error' && errors.push(`phone console: ${m.text()}`)));
      await phone.goto(pageUrl);
      await shows(phone, '[data-testid=health][data-status=up]');
      await shows(phone, '[data-testid=client-row]', 'nonebot');
      const overflow = await phone.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.equal(overflow, 0, 'no horizontal scrolling on a 375 px wide phone');
      await phone.screenshot({ path: `${ARTIFACTS}status-page-phone.png`, fullPage: true });
      await phoneContext.close();
      assert.deepEqual(errors, [], 'no script errors and no failed requests on the page');

      // The relay goes away: the page says so and retries about once a second, never in a tight loop.
      await relay.stop();
      relay = undefined;
      await shows(page, '[data-testid=live][data-state=reconnecting]', /last update/);
      await shows(page, '[data-testid=stale]', /No update from the relay/);
      let requests = 0;
      page.on('request', () => requests++);
      await new Promise((r) => setTimeout(r, 3000));
      assert.ok(requests <= 8, `${requests} requests in 3 s while the relay was away`);
      assert.equal(await text(page, '[data-testid=nickname]'), 'fake-bot', 'the last data stays on screen');
    } finally {
      for (const client of clients) client.close();
      await browser?.close();
      await relay?.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('lists every account with its link, QQ state and traffic when the relay serves several', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const fake = await FakeImplementation.start({ selfId: 10001 });
    const second = new FakeReverseImplementation(10002);
    const third = new FakeReverseImplementation(10003);
    let relay: TestRelay | undefined;
    let browser: Browser | undefined;
    const clients: TestClient[] = [];
    const errors: string[] = [];
    try {
      relay = await startTestRelay(undefined, { upstreams: [fake.url, { listen: '127.0.0.1:0' }], groupDedupe: true });
      const listener = `ws://${(relay.relay.upstreams[1] as unknown as { listener: { url: string } }).listener.url}/`;
      const [secondSocket, thirdSocket] = await Promise.all([second.connect(listener, 'Universal'), third.connect(listener, 'Universal')]);
      clients.push(await TestClient.connect(relay.wsUrl), await TestClient.connect(`${relay.wsUrl}/10002/?client=koishi`));
      fake.emit(2);
      second.emit(secondSocket, 3);
      browser = await launchChromium();
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(relay.adminUrl);
      await shows(page, '[data-testid=accounts] [data-testid=account-row][data-self-id="10003"]');
      assert.equal(await page.locator('[data-testid=account-row]').count(), 3);
      for (const id of ['10001', '10002', '10003']) {
        await shows(page, `[data-testid=account-row][data-self-id="${id}"]`, /up/);
      }
      // One account's implementation goes away: only its row says so.
      thirdSocket.terminate();
      await shows(page, '[data-testid=account-row][data-self-id="10003"]', /down/);
      await shows(page, '[data-testid=account-row][data-self-id="10002"]', /up/);
      await page.screenshot({ path: `${ARTIFACTS}status-page-accounts.png`, fullPage: true });
      if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(`${ARTIFACTS}status-page-accounts.png`, README_ACCOUNTS_SHOT);
      await shows(page, '[data-testid=health]', /2 of 3 accounts linked · 2 clients connected/);
      // groupDedupe: each group the accounts are in (get_group_list), and the one that answers there.
      await shows(page, '[data-testid=groups] [data-testid=group-row]', /^123456\s*10001\s*10001, 10002, 10003$/);
      await shows(page, '[data-testid=duplicates]', /^\d+$/);
      assert.deepEqual(errors, []);
    } finally {
      for (const client of clients) client.close();
      await browser?.close();
      await relay?.stop();
      await fake.stop();
    }
  });

  it("lists what is wrong now, each alert channel's state and the recent alerts, and its button sends a test alert", async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const fake = await FakeImplementation.start({ heartbeat: 300 });
    const services = await FakeAlertServices.start();
    services.failing.set('/hooks/pager', 503);
    let relay: TestRelay | undefined;
    let browser: Browser | undefined;
    const client = { socket: undefined as TestClient | undefined };
    const errors: string[] = [];
    try {
      relay = await startTestRelay(fake.url, {
        alertGrace: 500,
        sendLimit: { group: '2/10s' },
        callTimeout: 20_000,
        alerts: [
          {
            type: 'dingtalk',
            name: 'ops group (DingTalk)',
            url: `${services.base}/robot/send?access_token=${KEYS.dingtalkToken}`,
            secret: KEYS.dingtalkSecret,
          },
          {
            type: 'bark',
            name: 'phone (Bark)',
            key: KEYS.barkKey,
            server: services.base,
            events: ['qq_offline', 'qq_online', 'link_down', 'link_up', 'test'],
          },
          {
            type: 'webhook',
            name: 'pager',
            url: `${services.base}/hooks/pager`,
            events: ['link_down', 'qq_offline', 'risk_control', 'test'],
          },
        ],
      });
      client.socket = await TestClient.connect(`${relay.wsUrl}/api`);
      await waitFor(() => relay!.relay.hub.health().nickname === 'fake-bot', 'the account identified');
      for (let n = 1; n <= 4; n++) client.socket.send({ action: 'send_group_msg', params: { group_id: 1, message: `m${n}` }, echo: n });
      // In English: the headless Chromium of the tests has no CJK font for the screenshot.
      fake.kickedOffline('KickedOffLine', 'Your account logged in on another device');
      browser = await launchChromium();
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(relay.adminUrl);
      await shows(page, '[data-testid=current-alert]', /QQ offline.*10001 \(fake-bot\).*bot_offline notice, tag "KickedOffLine"/);
      await shows(
        page,
        '[data-testid=recent-alert]',
        /qq_offline.*QQ account 10001 \(fake-bot\) is offline.*→ ops group \(DingTalk\), phone \(Bark\), pager/,
      );
      await shows(page, '[data-testid=channel-row][data-state=failing]', /pager.*HTTP 503/);
      assert.equal(await page.locator('[data-testid=channel-row][data-state=ok]').count(), 2);
      await shows(page, '[data-testid=sends]', /2 queued · 2 delayed/);
      await page.click('[data-testid=test-alert]');
      await shows(page, '[data-testid=test-alert-result]', /2 of 3 delivered; failed: pager: HTTP 503/);
      assert.equal(services.of('bark').filter((r) => /test alert/.test(r.body.title)).length, 1);
      await shows(
        page,
        '[data-testid=recent-alert]',
        /test This is a test alert from onebot-relay.*→ ops group \(DingTalk\), phone \(Bark\)$/,
      );
      await page.locator('[data-testid=alerts]').screenshot({ path: `${ARTIFACTS}status-page-alerts.png` });
      if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(`${ARTIFACTS}status-page-alerts.png`, README_ALERTS_SHOT);
      assert.deepEqual(errors, []);
    } finally {
      client.socket?.close();
      await browser?.close();
      await relay?.stop();
      await fake.stop();
      await services.stop();
    }
  });
});
