// Calls: echo restored exactly per caller, streams, pass-through, timeouts, bad frames.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

describe('calls', { timeout: 20_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;
  let a: TestClient;
  let b: TestClient;

  before(async () => {
    fake = await FakeImplementation.start();
    relay = await startTestRelay(fake.url, { callTimeout: 500 });
    await waitFor(() => relay.relay.hub.health().self_id !== null, 'the relay to learn self_id');
    [a, b] = await Promise.all([TestClient.connect(relay.wsUrl), TestClient.connect(`${relay.wsUrl}/api`)]);
  });
  after(async () => {
    a.close();
    b.close();
    await relay.stop();
    await fake.stop();
  });

  it('restore string, number and object echoes to the right caller when two clients use the same echoes', async () => {
    const echoes: unknown[] = ['1', '2', 3, 4, { seq: 5 }, { seq: 6 }, '07', 0];
    // Each client asks echo_params to return its own name, so cross-talk would show in the data.
    const sendAll = (client: TestClient, name: string) =>
      Promise.all(echoes.map((echo) => client.call('echo_params', { who: name, echo }, echo)));
    const [fromA, fromB] = await Promise.all([sendAll(a, 'a'), sendAll(b, 'b')]);
    for (const [client, name, replies] of [
      [a, 'a', fromA],
      [b, 'b', fromB],
    ] as const) {
      replies.forEach((reply, i) => {
        assert.deepEqual(reply.echo, echoes[i]);
        assert.equal(typeof reply.echo, typeof echoes[i], 'echo keeps its JSON type');
        assert.deepEqual(reply.data, { who: name, echo: echoes[i] });
      });
      assert.equal(client.replies().filter((r) => r.data?.who !== name).length, 0, `${name} saw no other caller's reply`);
    }
    const upstreamEchoes = fake.calls.filter((c) => c.action === 'echo_params').map((c) => c.echo);
    assert.equal(new Set(upstreamEchoes).size, upstreamEchoes.length, 'the relay sent each call upstream with its own echo');
  });

  it('omit the echo in the reply when the call had none', async () => {
    const seen = b.frames.length;
    b.send({ action: 'get_status' });
    await b.waitForFrames((f) => f.length > seen, 'a reply');
    const reply = JSON.parse(b.frames[seen]!);
    assert.equal(reply.status, 'ok');
    assert.ok(!('echo' in reply));
  });

  it('route every frame of a stream action back to its caller', async () => {
    a.send({ action: 'test_stream', params: {}, echo: 's1' });
    await a.waitForFrames(() => a.replies().filter((r) => r.echo === 's1').length === 3, 'three stream frames');
    const types = a
      .replies()
      .filter((r) => r.echo === 's1')
      .map((r) => r.data.type);
    assert.deepEqual(types, ['stream', 'stream', 'response']);
  });

  it("pass unknown actions through and return the implementation's answer", async () => {
    const reply = await a.call('no_such_action', {}, 'u1');
    assert.equal(reply.retcode, 1404);
    assert.match(reply.message, /no_such_action/);
    assert.ok(fake.calls.some((c) => c.action === 'no_such_action'));
  });

  it('answer a call the implementation never answers with retcode 1504 naming the timeout', async () => {
    fake.unanswered.add('get_group_list');
    const started = Date.now();
    const reply = await a.call('get_group_list', {}, 't1');
    const waited = Date.now() - started;
    assert.equal(reply.status, 'failed');
    assert.equal(reply.retcode, RelayRetcode.timeout);
    assert.match(reply.message, /within 500 ms/);
    assert.ok(waited >= 450 && waited < 1500, `answered after ${waited} ms`);
  });

  it('answer bad frames with retcode 1400 and keep the socket open', async () => {
    const bad = ['not json', '[1,2,3]', '"a string"', '{"params":{}}', '{"action":42,"echo":"x"}', '{"ping":1}'];
    const seen = a.replies().length;
    for (const frame of bad) a.send(frame);
    await a.waitForFrames(() => a.replies().length >= seen + bad.length, 'a reply to each bad frame');
    const replies = a.replies().slice(seen);
    for (const reply of replies) {
      assert.equal(reply.status, 'failed');
      assert.equal(reply.retcode, RelayRetcode.badRequest);
      assert.equal(typeof reply.message, 'string');
    }
    assert.equal(replies[4]!.echo, 'x', 'the echo of a bad call object is kept');
    const good = await a.call('get_status', {}, 'after-bad');
    assert.equal(good.status, 'ok', 'the socket still works');
  });
});

describe('oversized frames', { timeout: 10_000 }, () => {
  it('close only the sender with 1009 and keep serving everyone else', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { maxPayload: 4096 });
    const [big, other] = await Promise.all([TestClient.connect(relay.wsUrl), TestClient.connect(relay.wsUrl)]);
    try {
      big.send({ action: 'send_group_msg', params: { group_id: 1, message: 'x'.repeat(10_000) }, echo: 'big' });
      const { code } = await big.closed;
      assert.equal(code, 1009);
      assert.ok(!fake.calls.some((c) => c.action === 'send_group_msg'), 'the oversized call never went upstream');
      const reply = await other.call('get_status', {}, 'still-here');
      assert.equal(reply.status, 'ok');
    } finally {
      other.close();
      await relay.stop();
      await fake.stop();
    }
  });
});

describe('calls of a connection the relay closes', { timeout: 20_000 }, () => {
  it('are answered, failed, before the close: a replaced named client, and every client at shutdown', async () => {
    const fake = await FakeImplementation.start();
    fake.unanswered.add('send_msg');
    const relay = await startTestRelay(fake.url, { callTimeout: 10_000 });
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'the relay to learn self_id');
      const older = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      older.send({ action: 'send_msg', params: { message: 'a' }, echo: '1' });
      await waitFor(() => fake.calls.some((c) => c.action === 'send_msg'), 'the call upstream');
      const newer = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      assert.equal((await older.closed).code, 1008);
      const replaced = older.replies().find((r) => r.echo === '1');
      assert.equal(replaced?.retcode, RelayRetcode.outcomeUnknown);
      assert.match(
        replaced!.message,
        /the relay closed this connection \(replaced by a newer connection.*\) before "send_msg" was answered/,
      );

      newer.send({ action: 'send_msg', params: { message: 'b' }, echo: '1' });
      await waitFor(() => fake.calls.filter((c) => c.action === 'send_msg').length === 2, 'the second call upstream');
      const stopping = relay.stop();
      assert.equal((await newer.closed).code, 1001);
      await stopping;
      const shutdown = newer.replies().find((r) => r.echo === '1');
      assert.equal(shutdown?.retcode, RelayRetcode.outcomeUnknown);
      assert.match(shutdown!.message, /the relay closed this connection \(relay shutting down\)/);
      const order = newer.parsed().map((f) => f.echo ?? f.sub_type);
      assert.deepEqual(order.slice(-2), ['1', 'disable'], 'the failed reply before the lifecycle disable and the close');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});
