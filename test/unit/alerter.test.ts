// Alerter on its own, on a mocked clock, with channels that record what they are given: which channel hears of
// what and when (alertGrace, a channel's own grace, repeat), conditions frozen while the link is down, the relay's
// own alerts, the test alert and what the status page shows. test/alerts.test.ts shows it in a running relay.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { ALERT_EVENTS, type Alert, type AlertEvent } from '../../src/alerts/alert.ts';
import { Alerter } from '../../src/alerts/alerter.ts';
import type { ChannelSpec } from '../../src/alerts/channels.ts';
import type { Watched } from '../../src/alerts/watch.ts';
import { mockClock, recordingLogger, START } from './kit.ts';

const GRACE = 30_000;

/** Real immediates are not mocked: they let the deliveries' promises settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const subject = { selfId: 10001, nickname: 'bot', target: 'ws://127.0.0.1:3001/' };
const UP: Watched = { subject };
const DOWN: Watched = { subject, linkDown: 'closed by the implementation with code 1000 "restart"' };

function channel(name: string, extra: Partial<ChannelSpec> = {}): ChannelSpec {
  return { type: 'webhook', url: 'http://127.0.0.1:9/', name, events: [...ALERT_EVENTS], repeat: 0, ...extra } as ChannelSpec;
}

function setup(t: TestContext, channels: ChannelSpec[], failing = new Set<string>()) {
  const clock = mockClock(t);
  const { log, messages } = recordingLogger();
  const heard: [string, AlertEvent, number, Alert][] = [];
  const alerter = new Alerter({ grace: GRACE, channels }, log, (spec) => ({
    label: spec.name!,
    secrets: [],
    send: async (alert) => {
      if (failing.has(spec.name!)) throw new Error('HTTP 500');
      heard.push([spec.name!, alert.event, Date.now() - START, alert]);
    },
  }));
  const account = {};
  const at = async (ms: number, watched?: Watched) => {
    clock.tick(ms - (Date.now() - START));
    if (watched) alerter.observe(account, watched);
    await settle();
  };
  const events = (name?: string) => heard.filter(([n]) => name === undefined || n === name).map(([n, event, ms]) => [n, event, ms]);
  t.after(() => alerter.close());
  return { clock, alerter, account, heard, at, events, messages };
}

describe('Alerter', () => {
  it('tells the channels that want it once a condition has lasted the grace period, and once it has cleared as long', async (t) => {
    const { at, events, heard, messages } = setup(t, [channel('all'), channel('downs only', { events: ['link_down'] })]);
    await at(0, UP);
    await at(1000, DOWN);
    await at(1000 + GRACE);
    assert.deepEqual(events(), [
      ['all', 'link_down', 1000 + GRACE],
      ['downs only', 'link_down', 1000 + GRACE],
    ]);
    const down = heard[0]![3];
    assert.equal(down.self_id, 10001);
    assert.equal(down.since, new Date(START + 1000).toISOString());
    assert.match(
      down.text,
      /^The upstream link of 10001 \(bot\) is down for 30 s \(since \d\d:\d\d:\d\d\): closed by the implementation with code 1000 "restart"\.$/,
    );
    assert.deepEqual(messages('warn'), [`alert link_down: ${down.text}`]);
    await at(100_000, UP);
    await at(100_000 + GRACE);
    assert.deepEqual(events().at(-1), ['all', 'link_up', 100_000 + GRACE]);
    const up = heard.at(-1)![3];
    assert.equal(up.duration_ms, 99_000);
    assert.equal(up.text, 'The upstream link of 10001 (bot) is back up after 1 min 39 s down.');
  });

  it('says nothing of a link that drops and comes back within the grace period', async (t) => {
    const { at, events } = setup(t, [channel('all')]);
    await at(0, UP);
    await at(1000, DOWN);
    await at(5000, UP);
    await at(10 * GRACE);
    assert.deepEqual(events(), []);
  });

  it('alerts a flapping link once, and recovers it once', async (t) => {
    const { at, events, heard } = setup(t, [channel('all')]);
    for (let s = 0; s < 60; s += 10) {
      await at(s * 1000, DOWN);
      await at(s * 1000 + 2000, UP);
    }
    await at(52_000 + GRACE);
    assert.deepEqual(events(), [
      ['all', 'link_down', 20_000],
      ['all', 'link_up', 52_000 + GRACE],
    ]);
    assert.match(heard[0]![3].text, /flapping: began 3 times, each time back within the grace period/);
    assert.equal(heard[1]![3].flaps, 6);
  });

  it('keeps what it knew of QQ while the link is down, and watches QQ offline, degraded and risk control each on its own', async (t) => {
    const { at, events, heard } = setup(t, [channel('all')]);
    await at(0, {
      subject,
      qqOffline: 'the QQ account went offline: bot_offline notice, tag "下线通知", message "你的账号在另一台设备登录"',
    });
    await at(10_000, DOWN);
    await at(20_000, { subject, qqOffline: 'still', degraded: '3 send calls in a row failed' });
    await at(GRACE);
    assert.deepEqual(events(), [['all', 'qq_offline', GRACE]], 'the link was down 10 s: no alert of it; QQ offline counted through it');
    assert.match(heard[0]![3].text, /^QQ account 10001 \(bot\) is offline for 30 s .*: still\.$/);
    await at(20_000 + GRACE);
    assert.deepEqual(events().at(-1), ['all', 'degraded', 20_000 + GRACE]);
    await at(60_000, {
      subject,
      riskControl: 'suspected risk control: send_group_msg failed: QQ accepted the message but never confirmed it sent',
    });
    await at(60_000 + GRACE);
    assert.deepEqual(events().slice(2), [
      ['all', 'qq_online', 60_000 + GRACE],
      ['all', 'recovered', 60_000 + GRACE],
      ['all', 'risk_control', 60_000 + GRACE],
    ]);
  });

  it('tells a channel with its own grace period only once the condition has lasted that long, and never of a shorter one', async (t) => {
    const { at, events } = setup(t, [channel('default'), channel('slow', { grace: 120_000 })]);
    await at(0, DOWN);
    await at(GRACE);
    await at(60_000, UP);
    await at(60_000 + GRACE);
    assert.deepEqual(events(), [
      ['default', 'link_down', GRACE],
      ['default', 'link_up', 60_000 + GRACE],
    ]);
    await at(100_000, DOWN);
    await at(220_000);
    assert.deepEqual(events('slow'), [['slow', 'link_down', 220_000]]);
  });

  it('repeats to a channel with "repeat" while the condition lasts, and stops when it ends', async (t) => {
    const { at, events, heard } = setup(t, [channel('nag', { repeat: 60_000, events: ['link_down', 'link_up'] })]);
    await at(0, DOWN);
    for (const ms of [GRACE, GRACE + 60_000, GRACE + 120_000]) await at(ms);
    await at(200_000, UP);
    for (const ms of [210_000, 200_000 + GRACE, 400_000]) await at(ms);
    assert.deepEqual(events(), [
      ['nag', 'link_down', GRACE],
      ['nag', 'link_down', GRACE + 60_000],
      ['nag', 'link_down', GRACE + 120_000],
      ['nag', 'link_up', 200_000 + GRACE],
    ]);
    assert.equal(heard[1]![3].reminder, true);
    assert.match(heard[1]![3].text, /is down still for 1 min 30 s/);
  });

  it('sends relay_start and relay_stop to the channels that want them, and a test alert to every channel with its result', async (t) => {
    const { alerter, at, events } = setup(
      t,
      [channel('ops', { events: ['relay_start', 'relay_stop'] }), channel('broken', { events: ['link_down'] })],
      new Set(['broken']),
    );
    alerter.relayStarted('onebot-relay 0.1.0 started');
    await at(0);
    const results = await alerter.test();
    assert.deepEqual(
      results.map(({ channel, ok, error }) => ({ channel, ok, error })),
      [
        { channel: 'ops', ok: true, error: undefined },
        { channel: 'broken', ok: false, error: 'HTTP 500' },
      ],
    );
    await alerter.relayStopping('stopping');
    assert.deepEqual(events(), [
      ['ops', 'relay_start', 0],
      ['ops', 'test', 0],
      ['ops', 'relay_stop', 0],
    ]);
    assert.deepEqual(
      alerter.status().recent.map((a) => [a.event, a.channels]),
      [
        ['relay_stop', ['ops']],
        ['test', ['ops']],
        ['relay_start', ['ops']],
      ],
    );
  });

  it('shows the conditions on now, alerted or still within their grace period, and each channel’s state', async (t) => {
    const { alerter, at } = setup(t, [channel('broken')], new Set(['broken']));
    await at(0, { subject, qqOffline: 'offline' });
    await at(GRACE);
    await at(GRACE + 1000, { subject, qqOffline: 'offline', degraded: 'good: false' });
    const status = alerter.status();
    assert.deepEqual(
      status.current.map(({ event, account, alerted, detail }) => ({ event, account, alerted, detail })),
      [
        { event: 'qq_offline', account: '10001 (bot)', alerted: true, detail: 'offline' },
        { event: 'degraded', account: '10001 (bot)', alerted: false, detail: 'good: false' },
      ],
    );
    assert.equal(status.channels[0]!.state, 'failing');
    assert.equal(status.channels[0]!.last_error, 'HTTP 500');
    assert.equal(status.grace_ms, GRACE);
  });

  it('takes a new alertGrace on a reload that changes nothing else, also for channels already built', async (t) => {
    const { alerter, at, events } = setup(t, [channel('all'), channel('own', { grace: GRACE })]);
    await at(0, UP);
    alerter.configure({ grace: 5_000, channels: [channel('all'), channel('own', { grace: GRACE })] });
    await at(1000, DOWN);
    await at(1000 + 5_000);
    assert.deepEqual(events(), [['all', 'link_down', 6_000]], 'the new alertGrace; a channel with its own keeps it');
    await at(1000 + GRACE);
    assert.deepEqual(events('own'), [['own', 'link_down', 1000 + GRACE]]);
  });

  it('forgets an account that is no longer served: its conditions end without a word', async (t) => {
    const { alerter, account, at, events } = setup(t, [channel('all')]);
    await at(0, DOWN);
    alerter.forget(account);
    await at(10 * GRACE);
    assert.deepEqual(events(), []);
    assert.deepEqual(alerter.status().current, []);
  });
});
