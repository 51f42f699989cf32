// Duplicates over real sockets: an implementation that reports each event twice (dedupeWindow), and two
// accounts in one group that both report every message (groupDedupe): each client gets each thing once, from
// the group's primary account, and the other account takes over when the primary goes, losing nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeFramework } from './fake-framework.ts';
import { FakeImplementation, GROUP } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

/** Group message `seq` as account `selfId`'s implementation reports it: its own message_id, the group's seq. */
function groupMessage(selfId: number, seq: number, time = Math.floor(Date.now() / 1000)): string {
  return JSON.stringify({
    time,
    self_id: selfId,
    post_type: 'message',
    message_type: 'group',
    sub_type: 'normal',
    message_id: selfId * 100_000 + seq,
    message_seq: seq,
    group_id: GROUP,
    user_id: 777,
    message: [{ type: 'text', data: { text: `ping ${seq}` } }],
    raw_message: `ping ${seq}`,
    font: 0,
    sender: { user_id: 777, nickname: 'someone' },
  });
}

function recall(selfId: number, time: number): string {
  return JSON.stringify({
    time,
    self_id: selfId,
    post_type: 'notice',
    notice_type: 'group_recall',
    group_id: GROUP,
    user_id: 777,
    operator_id: 777,
    message_id: selfId * 100_000 + 1,
  });
}

async function metric(adminUrl: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? Number.NaN);
}

describe('dedupeWindow: an implementation that reports each event twice', () => {
  it('gives each client each event once, counted in /metrics and the status', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => fake.sockets.size > 0, 'the relay to connect');
      for (let seq = 1; seq <= 20; seq++) {
        fake.broadcast(groupMessage(fake.selfId, seq, 1000 + seq));
        fake.broadcast(groupMessage(fake.selfId, seq, 1001 + seq)); // the same, a second later
      }
      fake.broadcast(recall(fake.selfId, 5000));
      fake.broadcast(recall(fake.selfId, 5000));
      fake.broadcast(groupMessage(fake.selfId, 21));
      await waitFor(() => client.parsed().some((f) => f.message_seq === 21), 'the last message');
      const events = client.parsed().filter((f) => f.post_type !== 'meta_event');
      assert.deepEqual(
        events.map((f) => f.message_seq ?? f.notice_type),
        [...Array.from({ length: 20 }, (_, i) => i + 1), 'group_recall', 21],
      );
      assert.equal(await metric(relay.adminUrl, /^onebot_relay_duplicates_dropped_total\{reason="repeated"\} (\d+)/m), 21);
      const status = (await (await fetch(`${relay.adminUrl}/status.json`)).json()) as { duplicates: { repeated: number } };
      assert.equal(status.duplicates.repeated, 21);
    } finally {
      client.ws.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('passes repeats through once a reload sets dedupeWindow to 0', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(relay.wsUrl);
    const recalls = () => client.parsed().filter((f) => f.notice_type === 'group_recall').length;
    try {
      await waitFor(() => fake.sockets.size > 0, 'the relay to connect');
      fake.broadcast(recall(fake.selfId, 5000));
      fake.broadcast(recall(fake.selfId, 5000));
      fake.broadcast(groupMessage(fake.selfId, 1));
      await waitFor(() => client.parsed().some((f) => f.message_seq === 1), 'the message after them');
      assert.equal(recalls(), 1);
      relay.settings.dedupeWindow = 0;
      assert.equal(await relay.relay.reload(), true);
      fake.broadcast(recall(fake.selfId, 5000));
      fake.broadcast(recall(fake.selfId, 5000));
      await waitFor(() => recalls() === 3, 'both repeats');
    } finally {
      client.ws.close();
      await relay.stop();
      await fake.stop();
    }
  });
});

describe('groupDedupe: two accounts in one group', { timeout: 60_000 }, () => {
  async function twoAccounts(heartbeat = 0, ping = 200) {
    const a = await FakeImplementation.start({ selfId: 10001, heartbeat });
    const b = await FakeImplementation.start({ selfId: 10002, heartbeat });
    const framework = await FakeFramework.start();
    const relay = await startTestRelay(undefined, {
      upstreams: [a.url, b.url],
      groupDedupe: true,
      reverse: [`${framework.url}/onebot/v11/ws`],
      ping,
      pingTimeout: ping,
    });
    await waitFor(() => framework.open().length === 2, 'a socket for each account');
    await waitFor(() => framework.open().every((s) => s.frames.some((f) => f.includes('"connect"'))), 'both live');
    await waitFor(
      () => relay.relay.hub.groupPrimaries().some((g) => g.group_id === GROUP && g.accounts.length === 2),
      'both accounts listed in the group (get_group_list)',
    );
    /** Each group message the framework got: its seq and the account it came as. */
    const got = () =>
      framework.sockets.flatMap((s) =>
        framework
          .parsed(s)
          .filter((f) => f.post_type === 'message')
          .map((f) => ({ seq: f.message_seq as number, as: f.self_id as number, socket: s.headers['x-self-id'] })),
      );
    return {
      a,
      b,
      framework,
      relay,
      got,
      /** Once both links report their heartbeats: message 1 from both accounts, delivered once (as the primary). */
      async firstMessageDelivered() {
        await waitFor(() => relay.relay.hub.health().accounts.every((x) => x.link.heartbeat_interval_ms === heartbeat), 'heartbeats');
        a.broadcast(groupMessage(a.selfId, 1));
        b.broadcast(groupMessage(b.selfId, 1));
        await waitFor(() => got().length === 1, 'message 1');
      },
      async tearDown() {
        await relay.stop();
        await framework.stop();
        await a.stop();
        await b.stop();
      },
    };
  }

  it('delivers each message once, as the primary account, and the other account takes over at once when the primary goes, losing none', async () => {
    const t = await twoAccounts();
    try {
      for (let seq = 1; seq <= 50; seq++) {
        // Either may report first.
        const [first, second] = seq % 2 ? [t.a, t.b] : [t.b, t.a];
        first.broadcast(groupMessage(first.selfId, seq));
        second.broadcast(groupMessage(second.selfId, seq));
      }
      await waitFor(() => t.got().some((m) => m.seq === 50), 'message 50');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(
        t.got().map((m) => m.seq),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.ok(
        t.got().every((m) => m.as === 10001 && m.socket === '10001'),
        'all as the primary, on its socket',
      );
      const status = (await (await fetch(`${t.relay.adminUrl}/status.json`)).json()) as Record<string, any>;
      assert.deepEqual(
        status.groups.find((g: { group_id: number }) => g.group_id === GROUP),
        { group_id: GROUP, primary: 10001, accounts: [10001, 10002] },
      );
      assert.equal(status.duplicates.other_account, 50);

      // B reports 51 first; A dies before it does.
      t.b.broadcast(groupMessage(t.b.selfId, 51));
      await t.a.kill();
      const killedAt = Date.now();
      await waitFor(() => t.got().some((m) => m.seq === 51), 'message 51 from the other account');
      const tookOver = Date.now() - killedAt;
      for (let seq = 52; seq <= 60; seq++) t.b.broadcast(groupMessage(t.b.selfId, seq));
      await waitFor(() => t.got().some((m) => m.seq === 60), 'message 60');
      const after = t.got().filter((m) => m.seq > 50);
      assert.deepEqual(
        after.map((m) => [m.seq, m.as]),
        Array.from({ length: 10 }, (_, i) => [51 + i, 10002]),
      );
      assert.ok(tookOver < 1000, `took over after ${tookOver} ms`);
      const later = (await (await fetch(`${t.relay.adminUrl}/status.json`)).json()) as Record<string, any>;
      assert.equal(later.groups.find((g: { group_id: number }) => g.group_id === GROUP).primary, 10002);
    } finally {
      await t.tearDown();
    }
  });

  it('lets the other account answer at once when the primary’s QQ is kicked offline (bot_offline), not a heartbeat later', async () => {
    // Heartbeats 5 s apart: a copy would wait that long for the primary's.
    const t = await twoAccounts(5000);
    try {
      await t.firstMessageDelivered();
      const kickedAt = Date.now();
      t.a.kickedOffline('KickedOffLine', '你的账号在另一台设备登录');
      t.b.broadcast(groupMessage(t.b.selfId, 2));
      await waitFor(() => t.got().some((m) => m.seq === 2), 'message 2 from the other account', 4000);
      const waited = Date.now() - kickedAt;
      assert.deepEqual(
        t.got().map((m) => [m.seq, m.as]),
        [
          [1, 10001],
          [2, 10002],
        ],
      );
      assert.ok(waited < 1000, `delivered after ${waited} ms`);
      assert.equal(t.relay.relay.hub.groupPrimaries().find((g) => g.group_id === GROUP)?.primary, 10002);
    } finally {
      await t.tearDown();
    }
  });

  it('lets the other account answer within one heartbeat interval when the primary freezes', async () => {
    // Pings slower than that: the copy's wait, not a dead link, decides.
    const t = await twoAccounts(500, 5000);
    try {
      await t.firstMessageDelivered();
      t.a.freeze();
      const frozenAt = Date.now();
      t.b.broadcast(groupMessage(t.b.selfId, 2));
      await waitFor(() => t.got().some((m) => m.seq === 2), 'message 2 from the other account', 5000);
      const waited = Date.now() - frozenAt;
      assert.deepEqual(
        t.got().map((m) => [m.seq, m.as]),
        [
          [1, 10001],
          [2, 10002],
        ],
      );
      assert.ok(waited >= 450 && waited < 1500, `delivered after ${waited} ms (one heartbeat: 500 ms)`);
    } finally {
      await t.tearDown();
    }
  });
});
