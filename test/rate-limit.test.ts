// _async and _rate_limited done by the relay, and send_* calls held through an outage drained at the rate limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('_async, _rate_limited and paced sends', { timeout: 30_000 }, () => {
  it('answers x_async with status async at once and runs x in the background', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      fake.unanswered.add('set_group_ban'); // slow in the background: the async answer must not wait for it
      const reply = await client.call('set_group_ban_async', { group_id: 1, user_id: 2 }, 'a1');
      assert.deepEqual({ ...reply }, { status: 'async', retcode: 1, data: null, message: '', wording: '', echo: 'a1' });
      await waitFor(() => fake.calls.some((c) => c.action === 'set_group_ban'), 'the action upstream, without its suffix');
      assert.deepEqual(fake.calls.find((c) => c.action === 'set_group_ban')!.params, { group_id: 1, user_id: 2 });
      assert.ok(!fake.calls.some((c) => c.action.endsWith('_async')));
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('answers x_rate_limited at once and sends the calls one per interval', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { rateLimitInterval: 150 });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      const replies = await Promise.all(
        [1, 2, 3, 4].map((n) => client.call('send_group_msg_rate_limited', { group_id: 1, message: `m${n}` }, n, 500)),
      );
      assert.ok(replies.every((r) => r.status === 'async'));
      await waitFor(() => fake.calls.filter((c) => c.action === 'send_group_msg').length === 4, 'all four sent', 3000);
      const sent = fake.calls.filter((c) => c.action === 'send_group_msg');
      assert.deepEqual(
        sent.map((c) => c.params.message),
        ['m1', 'm2', 'm3', 'm4'],
        'in order',
      );
      for (const gap of gaps(sent.map((c) => c.at!))) assert.ok(gap >= 140, `sent ${gap} ms apart (interval 150)`);
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('drains send_* calls held through an outage at the rate limit, other calls at once, and answers each caller', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { rateLimitInterval: 150, hold: 5000, callTimeout: 5000 });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the outage');
      for (let n = 1; n <= 4; n++) client.send({ action: 'send_group_msg', params: { group_id: 1, message: `held${n}` }, echo: `s${n}` });
      client.send({ action: 'get_status', params: {}, echo: 'status' });
      await new Promise((r) => setTimeout(r, 100));
      await fake.restart();
      await client.waitForFrames(() => client.replies().length === 5, 'five replies', 4000);
      const sent = fake.calls.filter((c) => c.action === 'send_group_msg');
      assert.deepEqual(
        sent.map((c) => c.params.message),
        ['held1', 'held2', 'held3', 'held4'],
      );
      for (const gap of gaps(sent.map((c) => c.at!))) assert.ok(gap >= 140, `a held send went out ${gap} ms after the previous one`);
      const status = fake.calls.find((c) => c.action === 'get_status' && c.at! >= sent[0]!.at! - 1000)!;
      assert.ok(status.at! <= sent[1]!.at!, 'get_status did not wait behind the sends');
      assert.ok(client.replies().every((r) => r.status === 'ok'));
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('fails a paced call that cannot get its turn before its call timeout, without sending it', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { rateLimitInterval: 400, hold: 2000, callTimeout: 600 });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the outage');
      for (let n = 1; n <= 3; n++) client.send({ action: 'send_private_msg', params: { user_id: 1, message: `p${n}` }, echo: n });
      await fake.restart();
      await client.waitForFrames(() => client.replies().length === 3, 'three replies', 4000);
      const byEcho = new Map(client.replies().map((r) => [r.echo, r]));
      assert.equal(byEcho.get(1)!.status, 'ok');
      assert.equal(byEcho.get(3)!.retcode, RelayRetcode.notConnected);
      assert.match(byEcho.get(3)!.message, /not sent: "send_private_msg" was still waiting its turn/);
      assert.ok(!fake.calls.some((c) => c.params.message === 'p3'), 'the failed call was never sent');
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });
});

describe('a caller that leaves', { timeout: 20_000 }, () => {
  it('has its sends still waiting behind the rate limit dropped, not sent to nobody', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { rateLimitInterval: 200, hold: 5000, callTimeout: 5000 });
    const leaving = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      await fake.kill();
      await waitFor(() => relay.relay.hub.health().status === 'down', 'the outage');
      for (let n = 1; n <= 6; n++) leaving.send({ action: 'send_group_msg', params: { group_id: 1, message: `m${n}` }, echo: n });
      await new Promise((r) => setTimeout(r, 100));
      await fake.restart();
      await waitFor(() => fake.calls.some((c) => c.action === 'send_group_msg'), 'the first paced send');
      leaving.close();
      await new Promise((r) => setTimeout(r, 1500));
      const sent = fake.calls.filter((c) => c.action === 'send_group_msg').length;
      assert.ok(sent <= 2, `${sent} of 6 sent: the rest were dropped when the caller left`);
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});
