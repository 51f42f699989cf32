// Alerts in a running relay, over real sockets: each channel's request exactly as its service documents it (local
// fakes of DingTalk, Feishu, WeCom, ServerChan, Bark, Telegram, Discord and a generic webhook), QQ kicked offline and
// back, a link that flaps within the grace period and one that stays down, a channel that is down, /alerts/test.
// test/unit/alerter.test.ts and test/unit/episode.test.ts have the timing cases; test/alert-email.test.ts the email.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { clip } from '../src/alerts/channels/channel.ts';
import { dingtalkSign } from '../src/alerts/channels/dingtalk.ts';
import { feishuSign } from '../src/alerts/channels/feishu.ts';
import type { Settings } from '../src/config.ts';
import { FakeAlertServices, KEYS } from './fake-alert-services.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const JSON_BODY = { 'content-type': 'application/json' };

function everyChannel(base: string): Settings['alerts'] {
  return [
    { type: 'webhook', url: `${base}/hooks/generic`, headers: { Authorization: 'Bearer hook-secret-0123' } },
    {
      type: 'webhook',
      name: 'templated',
      url: `${base}/hooks/templated`,
      template: { msg: '{{text}}', who: '{{self_id}}', kind: 'onebot {{event}}' },
    },
    { type: 'dingtalk', url: `${base}/robot/send?access_token=${KEYS.dingtalkToken}`, secret: KEYS.dingtalkSecret },
    { type: 'feishu', url: `${base}/open-apis/bot/v2/hook/${KEYS.feishuToken}`, secret: KEYS.feishuSecret },
    { type: 'wecom', url: `${base}/cgi-bin/webhook/send?key=${KEYS.wecomKey}` },
    { type: 'serverchan', sendkey: KEYS.serverchanKey, server: base },
    { type: 'bark', key: KEYS.barkKey, server: base },
    { type: 'telegram', token: KEYS.telegramToken, chatId: 123456789, server: base },
    { type: 'discord', url: `${base}/api/webhooks/1234567890/${KEYS.discordToken}` },
  ];
}

async function testAlerts(relay: TestRelay, init: RequestInit = { headers: JSON_BODY, body: '{}' }): Promise<Response> {
  return fetch(`${relay.adminUrl}/alerts/test`, { method: 'POST', ...init });
}

describe('alert channels', { timeout: 30_000 }, () => {
  let services: FakeAlertServices;
  before(async () => (services = await FakeAlertServices.start()));
  after(() => services.stop());

  it('POST /alerts/test reaches every channel, each request exactly as its service documents it, and no secret is ever shown', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { alerts: everyChannel(services.base) });
    try {
      await waitFor(() => relay.relay.status().alerts.channels.every((c) => c.delivered === 1), 'relay_start, everywhere');
      services.requests.length = 0;
      const response = await testAlerts(relay);
      assert.equal(response.status, 200);
      const answer = (await response.json()) as { ok: boolean; results: { channel: string; ok: boolean; error?: string }[] };
      assert.deepEqual(
        answer.results.map(({ channel, ok, error }) => [channel, ok, error]),
        [
          [`webhook 127.0.0.1:${services.port}`, true, undefined],
          ['templated', true, undefined],
          [`dingtalk 127.0.0.1:${services.port}`, true, undefined],
          [`feishu 127.0.0.1:${services.port}`, true, undefined],
          [`wecom 127.0.0.1:${services.port}`, true, undefined],
          [`serverchan 127.0.0.1:${services.port}`, true, undefined],
          [`bark 127.0.0.1:${services.port}`, true, undefined],
          [`telegram 127.0.0.1:${services.port}`, true, undefined],
          [`discord 127.0.0.1:${services.port}`, true, undefined],
        ],
      );
      assert.equal(answer.ok, true);
      const TEXT = /^\[onebot-relay\] This is a test alert from onebot-relay: this channel works\.\n\S+ · \d{4}-\d\d-\d\dT/;

      const [generic, templated] = services.of('webhook');
      assert.equal(generic!.url, '/hooks/generic');
      assert.equal(generic!.headers.authorization, 'Bearer hook-secret-0123');
      assert.equal(generic!.headers['content-type'], 'application/json; charset=utf-8');
      assert.deepEqual(Object.keys(generic!.body).sort(), ['event', 'host', 'nickname', 'self_id', 'since', 'text', 'time', 'title']);
      assert.equal(generic!.body.event, 'test');
      assert.equal(generic!.body.self_id, null);
      assert.deepEqual(templated!.body, {
        msg: 'This is a test alert from onebot-relay: this channel works.',
        who: null,
        kind: 'onebot test',
      });

      const [ding] = services.of('dingtalk');
      const query = new URL(ding!.url, services.base).searchParams;
      assert.deepEqual([...query.keys()], ['access_token', 'timestamp', 'sign']);
      assert.equal(query.get('access_token'), KEYS.dingtalkToken);
      assert.equal(query.get('sign'), dingtalkSign(KEYS.dingtalkSecret, Number(query.get('timestamp'))));
      assert.ok(Math.abs(Date.now() - Number(query.get('timestamp'))) < 10_000, 'a timestamp in ms, now');
      assert.deepEqual(Object.keys(ding!.body), ['msgtype', 'text']);
      assert.equal(ding!.body.msgtype, 'text');
      assert.match(ding!.body.text.content, TEXT);

      const [feishu] = services.of('feishu');
      assert.equal(feishu!.url, `/open-apis/bot/v2/hook/${KEYS.feishuToken}`);
      assert.deepEqual(Object.keys(feishu!.body), ['timestamp', 'sign', 'msg_type', 'content']);
      assert.equal(typeof feishu!.body.timestamp, 'string', 'seconds, as a string');
      assert.ok(Math.abs(Date.now() / 1000 - Number(feishu!.body.timestamp)) < 10);
      assert.equal(feishu!.body.sign, feishuSign(KEYS.feishuSecret, Number(feishu!.body.timestamp)));
      assert.equal(feishu!.body.msg_type, 'text');
      assert.match(feishu!.body.content.text, TEXT);

      const [wecom] = services.of('wecom');
      assert.equal(wecom!.url, `/cgi-bin/webhook/send?key=${KEYS.wecomKey}`);
      assert.deepEqual(Object.keys(wecom!.body), ['msgtype', 'text']);
      assert.match(wecom!.body.text.content, TEXT);

      const [serverchan] = services.of('serverchan');
      assert.equal(serverchan!.url, `/${KEYS.serverchanKey}.send`);
      assert.equal(serverchan!.body.title, clip(`${hostname()}: test alert`, 32), 'the title, at most 32 characters');
      assert.match(serverchan!.body.desp, /^This is a test alert/);

      const [bark] = services.of('bark');
      assert.equal(bark!.url, `/${KEYS.barkKey}`);
      assert.deepEqual(Object.keys(bark!.body), ['title', 'body', 'group', 'level']);
      assert.equal(bark!.body.title, `[onebot-relay] ${hostname()}: test alert`);
      assert.equal(bark!.body.body, 'This is a test alert from onebot-relay: this channel works.');
      assert.deepEqual([bark!.body.group, bark!.body.level], ['onebot-relay', 'timeSensitive']);

      const [telegram] = services.of('telegram');
      assert.equal(telegram!.url, `/bot${KEYS.telegramToken}/sendMessage`);
      assert.equal(telegram!.body.chat_id, 123456789);
      assert.match(telegram!.body.text, TEXT);
      assert.equal(telegram!.body.disable_web_page_preview, true);

      const [discord] = services.of('discord');
      assert.equal(discord!.url, `/api/webhooks/1234567890/${KEYS.discordToken}`);
      assert.deepEqual(discord!.body.allowed_mentions, { parse: [] }, 'no @everyone from a nickname');
      assert.match(discord!.body.content, TEXT);
      assert.ok(discord!.body.content.length <= 2000);

      const shown = [relay.logs.join('\n'), await (await fetch(`${relay.adminUrl}/status.json`)).text()].join('\n');
      for (const [name, secret] of [...Object.entries(KEYS), ['header', 'hook-secret-0123']])
        assert.ok(!shown.includes(secret), `${name} never shown`);
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('shows a service that refuses as a failed result, with its own error, and needs JSON or the admin token', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, {
      alerts: [
        { type: 'dingtalk', url: `${services.base}/robot/send?access_token=${KEYS.dingtalkToken}`, secret: 'SECnot-the-right-secret' },
      ],
    });
    try {
      assert.equal(
        (await testAlerts(relay, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' })).status,
        415,
      );
      const answer = (await (await testAlerts(relay)).json()) as { ok: boolean; results: { ok: boolean; error?: string }[] };
      assert.equal(answer.ok, false);
      assert.deepEqual(
        answer.results.map(({ ok, error }) => ({ ok, error })),
        [{ ok: false, error: 'errcode 310000: sign not match' }],
      );
      const channel = relay.relay.status().alerts.channels[0]!;
      assert.equal(channel.state, 'failing');
      assert.equal(channel.last_error, 'errcode 310000: sign not match');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});

describe('alerts of a running relay', { timeout: 40_000 }, () => {
  let services: FakeAlertServices;
  before(async () => (services = await FakeAlertServices.start()));
  after(() => services.stop());
  const GRACE = 800;
  const hooked = (path: string) => services.requests.filter((r) => r.url === path).map((r) => r.body);

  it('QQ kicked offline (bot_offline): qq_offline within the grace period + 1 s, with its tag and message; back online: qq_online', async () => {
    const fake = await FakeImplementation.start({ heartbeat: 200 });
    const relay = await startTestRelay(fake.url, { alertGrace: GRACE, alerts: [`${services.base}/hooks/qq`] });
    try {
      await waitFor(() => relay.relay.hub.health().nickname === 'fake-bot', 'the account identified');
      const kicked = Date.now();
      fake.kickedOffline('下线通知', '你的账号在另一台设备登录');
      await waitFor(() => hooked('/hooks/qq').some((a) => a.event === 'qq_offline'), 'qq_offline', GRACE + 1000);
      const offline = hooked('/hooks/qq').find((a) => a.event === 'qq_offline')!;
      assert.ok(Date.now() - kicked >= GRACE, 'not before the grace period');
      assert.equal(offline.self_id, fake.selfId);
      assert.equal(offline.nickname, 'fake-bot');
      assert.equal(offline.detail, 'the QQ account went offline: bot_offline notice, tag "下线通知", message "你的账号在另一台设备登录"');
      assert.match(offline.text, /^QQ account 10001 \(fake-bot\) is offline for 1 s/);
      assert.ok(Math.abs(Date.parse(offline.since) - kicked) < 300, 'since: when it was kicked');
      assert.equal(typeof offline.host, 'string');
      assert.equal(relay.relay.hub.linkStatus(fake.selfId).online, false, 'clients are told too, in the relay heartbeats');

      const back = Date.now();
      fake.online = true; // its next heartbeat says so
      await waitFor(() => hooked('/hooks/qq').some((a) => a.event === 'qq_online'), 'qq_online', GRACE + 1500);
      const online = hooked('/hooks/qq').find((a) => a.event === 'qq_online')!;
      assert.ok(Date.now() - back >= GRACE, 'after it stayed online for the grace period');
      assert.match(online.text, /^QQ account 10001 \(fake-bot\) is back online after \d+ s offline\.$/);
      assert.ok(online.duration_ms >= 400 && online.duration_ms < 3000, `lasted ${online.duration_ms} ms`);
      assert.deepEqual(
        hooked('/hooks/qq').map((a) => a.event),
        ['relay_start', 'qq_offline', 'qq_online'],
      );
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('a link that drops and comes back within the grace period alerts nothing; one that stays down alerts who closed it, then link_up', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { alertGrace: 1500, reconnectMax: 200, alerts: [`${services.base}/hooks/link`] });
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      await fake.kill();
      await fake.restart();
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link back');
      await new Promise((r) => setTimeout(r, 2500));
      assert.deepEqual(
        hooked('/hooks/link').map((a) => a.event),
        ['relay_start'],
        'a flap shorter than the grace period',
      );
      const down = Date.now();
      await fake.kill();
      await waitFor(() => hooked('/hooks/link').some((a) => a.event === 'link_down'), 'link_down', 1500 + 1000);
      const alert = hooked('/hooks/link').find((a) => a.event === 'link_down')!;
      assert.ok(Date.now() - down >= 1500);
      assert.match(alert.detail, /^connection lost without a close frame \(1006\)/);
      assert.match(
        alert.text,
        /^The upstream link of 10001 \(fake-bot\) is down for \d s \(since \d\d:\d\d:\d\d\): connection lost without a close frame \(1006\)/,
      );
      await fake.restart();
      await waitFor(() => hooked('/hooks/link').some((a) => a.event === 'link_up'), 'link_up', 5000);
      assert.ok(hooked('/hooks/link').find((a) => a.event === 'link_up')!.duration_ms >= 1500);
      assert.ok(
        relay.logs.some((l) => / WARN .*alert link_down: The upstream link of 10001/.test(l)),
        'the alert is in the log',
      );
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('a channel that is down is retried with backoff and logged once, and holds up neither the other channels nor any call', async () => {
    services.failing.set('/hooks/down', 500);
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { alerts: [`${services.base}/hooks/down`, `${services.base}/hooks/up`] });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => hooked('/hooks/up').length === 1, 'relay_start on the working channel', 1000);
      const started = Date.now();
      const reply = await client.call('get_status', {}, 's');
      assert.equal(reply.status, 'ok');
      assert.ok(Date.now() - started < 500, 'calls are not held up');
      await waitFor(() => hooked('/hooks/down').length >= 3, 'the third attempt (after 1 s, then 2 s)', 5000);
      const times = services.requests.filter((r) => r.url === '/hooks/down').map((r) => r.at);
      assert.ok(times[1]! - times[0]! >= 900 && times[2]! - times[1]! >= 1900, `backoff: ${times.map((t) => t - times[0]!).join(', ')} ms`);
      const failures = relay.logs.filter((l) => l.includes('alert channel webhook') && / WARN /.test(l));
      assert.equal(failures.length, 1, failures.join('\n'));
      assert.match(failures[0]!, /alert channel webhook 127\.0\.0\.1:\d+ failed: HTTP 500: \{"error":"down for the test"\}/);
      const channels = relay.relay.status().alerts.channels;
      assert.deepEqual(
        channels.map((c) => c.state),
        ['failing', 'ok'],
      );
      assert.equal(channels[1]!.delivered, 1);
    } finally {
      services.failing.delete('/hooks/down');
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });
});
