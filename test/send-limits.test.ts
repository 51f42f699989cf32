// Send limits over real sockets: a plugin's flood to one group reaches the implementation no faster than the limit
// (read from its own call log), every call answered once sent; other groups, other clients and other calls are not
// held up; overflow "reject" answers at once with retcode 1429. test/unit/calls.test.ts has the edge cases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation, type ReceivedCall } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

/** The most of `calls` that fall within any window of `per` ms (by the implementation's arrival times). */
function mostInAnyWindow(calls: ReceivedCall[], per: number): number {
  const times = calls.map((c) => c.at!).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= per) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

const toGroup = (fake: FakeImplementation, group: number) =>
  fake.calls.filter((c) => c.action === 'send_group_msg' && c.params.group_id === group);

describe('send limits', { timeout: 40_000 }, () => {
  it('sends a flood of 50 to one group at no more than 5 in any window, answers all, and holds up nothing else', async () => {
    const WINDOW = 600;
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, {
      callTimeout: 15_000,
      sendLimit: { account: 'off', group: `5/${WINDOW}ms`, overflow: 'queue' },
    });
    const plugin = await TestClient.connect(`${relay.wsUrl}/api`);
    const other = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      const started = Date.now();
      const flood = Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          plugin.call('send_group_msg', { group_id: 1, message: `flood ${n + 1}` }, `f${n + 1}`, 14_000),
        ),
      );
      await waitFor(() => toGroup(fake, 1).length === 5, 'the first five of the flood');

      // While the flood waits: another group's send from the same plugin, and another client's calls.
      const elsewhere = await timed(() => plugin.call('send_group_msg', { group_id: 2, message: 'elsewhere' }, 'g2'));
      const status = await timed(() => other.call('get_status', {}, 's'));
      const list = await timed(() => other.call('get_login_info', {}, 'l'));
      for (const [what, { ms, reply }] of Object.entries({ elsewhere, status, list })) {
        assert.equal(reply.status, 'ok', what);
        assert.ok(ms < 400, `${what} answered in ${ms} ms while the flood waits`);
      }
      // The other client's send to the same group takes the next turn (round-robin), not the 51st.
      const turn = other.call('send_group_msg', { group_id: 1, message: 'reply' }, 'r', 14_000);
      assert.ok(relay.relay.hub.health().sends.queued >= 40, 'the flood is queued in the relay');

      const replies = await flood;
      assert.ok(
        replies.every((r) => r.status === 'ok' && typeof r.data.message_id === 'number'),
        'every call answered ok',
      );
      assert.equal((await turn).status, 'ok');
      const sent = toGroup(fake, 1);
      assert.equal(sent.length, 51, 'each sent once');
      assert.deepEqual(
        sent.filter((c) => String(c.params.message).startsWith('flood')).map((c) => c.params.message),
        Array.from({ length: 50 }, (_, n) => `flood ${n + 1}`),
        'in order',
      );
      const replyAt = sent.findIndex((c) => c.params.message === 'reply');
      assert.ok(replyAt < 15, `the other client's send went out ${replyAt + 1}th`);
      // Loopback jitter can move an arrival a few ms: windows a little shorter than the limit still hold five.
      assert.equal(mostInAnyWindow(sent, WINDOW - 40), 5, 'never more than 5 in any window');
      const took = Date.now() - started;
      assert.ok(took >= 9 * WINDOW, `51 sends at 5 per ${WINDOW} ms took ${took} ms`);
      const stats = relay.relay.hub.health().sends;
      assert.equal(stats.queued, 0);
      assert.ok(stats.delayed >= 45, `${stats.delayed} sends delayed`);
      assert.equal(stats.rejected, 0);
    } finally {
      plugin.close();
      other.close();
      await relay.stop();
      await fake.stop();
    }
  });

  it('with overflow "reject", answers the sends over the limit at once with retcode 1429 naming the limit', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { sendLimit: { group: '5/10s', overflow: 'reject' } });
    const client = await TestClient.connect(`${relay.wsUrl}/api`);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
      const started = Date.now();
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, n) => client.call('send_group_msg', { group_id: 7, message: `m${n + 1}` }, n + 1)),
      );
      assert.ok(Date.now() - started < 1000, 'all answered at once');
      assert.deepEqual(
        replies.map((r) => r.retcode),
        [0, 0, 0, 0, 0, RelayRetcode.sendLimited, RelayRetcode.sendLimited, RelayRetcode.sendLimited],
      );
      assert.equal(replies[5]!.status, 'failed');
      assert.equal(replies[5]!.message, 'not sent: over the send limit for group 7 (5/10s); sendLimit.overflow is "reject"');
      assert.equal(toGroup(fake, 7).length, 5, 'the rejected ones never reached the implementation');
      assert.equal((await client.call('send_group_msg', { group_id: 8, message: 'x' }, 'other')).status, 'ok', 'another group is free');
      assert.equal(relay.relay.hub.health().sends.rejected, 3);
    } finally {
      client.close();
      await relay.stop();
      await fake.stop();
    }
  });
});

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; reply: T }> {
  const start = Date.now();
  const reply = await run();
  return { ms: Date.now() - start, reply };
}
