// Large frames (an image in base64) are read as their skeleton, not parsed whole: they must still reach every side
// byte for byte, be read whole where a profile or a reply needs it, and be told apart when their images differ.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { FakeHttpImplementation } from './fake-other-impls.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const SELF = 10001;
/** Over LARGE_FRAME (64 KiB), made mostly of one long string, as a picture in base64 is. */
const image = (fill: string) => `base64://${fill.repeat(75_000)}`;
const imageEvent = (file: string, time: number) =>
  JSON.stringify({
    time,
    self_id: SELF,
    post_type: 'message',
    message_type: 'group',
    sub_type: 'normal',
    message_id: 7,
    group_id: 30003,
    user_id: 20002,
    message: [{ type: 'image', data: { file } }],
    raw_message: `[CQ:image,file=${file}]`,
    font: 0,
    sender: { user_id: 20002 },
  });

describe('large frames', { timeout: 20_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;

  before(async () => {
    fake = await FakeImplementation.start();
    relay = await startTestRelay(fake.url, { ws: [{ listen: '127.0.0.1:0', clients: { cq: { messagePostFormat: 'string' } } }] });
    await waitFor(() => relay.relay.hub.health().self_id !== null, 'the relay to learn self_id');
  });
  after(async () => {
    await relay.stop();
    await fake.stop();
  });

  it('a large call goes upstream as it came, only its echo swapped, and is answered with the caller’s echo', async () => {
    const upstream: string[] = [];
    for (const ws of fake.sockets) ws.on('message', (data) => upstream.push(data.toString()));
    const client = await TestClient.connect(relay.wsUrl);
    const file = image('QUJD');
    // Spacing and an extra top-level key: kept, since a skeleton is never written out again.
    const sent = `{ "action": "send_group_msg", "self_id": ${SELF}, "params": {"group_id": 30003, "message": [{"type": "image", "data": {"file": "${file}"}}]}, "echo": {"n": 1} }`;
    const seen = client.replies().length;
    client.send(sent);
    await waitFor(() => client.replies().length > seen, 'the reply');
    const reply = client.replies()[seen]!;
    assert.equal(reply.status, 'ok');
    assert.deepEqual(reply.echo, { n: 1 });
    const forwarded = upstream.find((text) => text.includes('send_group_msg'))!;
    const relayEcho = (JSON.parse(forwarded) as { echo: number }).echo;
    // The relay's echo fits where the caller's stood: written there, the rest made spaces.
    assert.equal(forwarded, sent.replace('{"n": 1}', String(relayEcho).padEnd('{"n": 1}'.length)));
    client.close();
  });

  it('frames to an implementation on this machine go with a zero mask: not copied to be masked, nor unmasked there', async () => {
    const raw: Buffer[] = [];
    for (const ws of fake.sockets) (ws as unknown as { _socket: Socket })._socket.on('data', (chunk: Buffer) => raw.push(chunk));
    const client = await TestClient.connect(relay.wsUrl);
    assert.equal((await client.call('get_status', {}, 'masked?')).status, 'ok');
    const frame = Buffer.concat(raw);
    assert.equal(frame[0], 0x81, 'one text frame');
    assert.ok(frame[1]! & 0x80, 'masked, as a client must');
    const at = (frame[1]! & 0x7f) === 126 ? 4 : 2;
    assert.deepEqual([...frame.subarray(at, at + 4)], [0, 0, 0, 0]);
    assert.match(frame.subarray(at + 4).toString(), /^\{"action":"get_status"/);
    client.close();
  });

  it('a large event reaches a client without a profile byte for byte, and one with a profile converted whole', async () => {
    const plain = await TestClient.connect(relay.wsUrl);
    const cq = await TestClient.connect(`${relay.wsUrl}/?client=cq`);
    await Promise.all([plain, cq].map((c) => c.waitForFrames(() => c.meta('lifecycle').length === 1, 'lifecycle connect')));
    const file = image('REVG');
    const text = imageEvent(file, 1_700_000_001);
    fake.broadcast(text);
    await plain.waitForFrames(() => plain.events().length === 1, 'the event');
    await cq.waitForFrames(() => cq.events().length === 1, 'the event, as a string');
    assert.equal(plain.events()[0], text);
    assert.equal(JSON.parse(cq.events()[0]!).message, `[CQ:image,file=${file}]`);
    plain.close();
    cq.close();
  });

  it('a large event repeated but for its time is dropped; one with another image of the same length is not', async () => {
    const client = await TestClient.connect(relay.wsUrl);
    await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
    const first = image('R0hJ');
    const other = `${first.slice(0, 50_000)}SktM${first.slice(50_004)}`;
    assert.equal(other.length, first.length);
    fake.broadcast(imageEvent(first, 1_700_000_010));
    fake.broadcast(imageEvent(first, 1_700_000_011)); // the implementation reports it twice
    fake.broadcast(imageEvent(other, 1_700_000_012));
    fake.broadcast(imageEvent(first, 1_700_000_013));
    await client.waitForFrames(() => client.events().length >= 2, 'two events');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const files = client.events().map((text) => (JSON.parse(text) as { message: { data: { file: string } }[] }).message[0]!.data.file);
    assert.equal(files.length, 2);
    assert.equal(files[0], first);
    assert.equal(files[1], other);
    client.close();
  });

  it('a large reply reaches its caller as the implementation wrote it, but for the echo; read whole for a profile', async () => {
    fake.unanswered.add('get_msg');
    const plain = await TestClient.connect(relay.wsUrl);
    const cq = await TestClient.connect(`${relay.wsUrl}/?client=cq`);
    const file = image('SktM');
    // Spaced as no JSON.stringify would write it: only a reply passed on as it came keeps that.
    const reply = (echo: string) =>
      `{ "status" : "ok", "retcode": 0, "data": {"message_id": 7, "message": [{"type": "image", "data": {"file": "${file}"}}]}, "echo": ${echo} }`;
    const answer = async (client: TestClient, echo: unknown) => {
      const asked = fake.calls.length;
      const seen = client.replies().length;
      client.send({ action: 'get_msg', params: { message_id: 7 }, echo });
      await waitFor(() => fake.calls.length > asked, 'the call upstream');
      for (const ws of fake.sockets) ws.send(reply(JSON.stringify(fake.calls[asked]!.echo)));
      await waitFor(() => client.replies().length > seen, 'the reply');
      return client.frames.at(-1)!;
    };
    try {
      assert.equal(await answer(plain, { seq: 1 }), reply('{"seq":1}'));
      const converted = JSON.parse(await answer(cq, 'cq-1'));
      assert.equal(converted.echo, 'cq-1');
      assert.equal(converted.data.message, `[CQ:image,file=${file}]`);
    } finally {
      fake.unanswered.delete('get_msg');
      plain.close();
      cq.close();
    }
  });

  it('a large frame that is not JSON gets a clear error, and the socket keeps working', async () => {
    const client = await TestClient.connect(relay.wsUrl);
    const seen = client.replies().length;
    client.send(`{"action":"send_group_msg","params":{"message":"${image('QUJD')}}`);
    await waitFor(() => client.replies().length > seen, 'the error');
    assert.equal(client.replies()[seen]!.status, 'failed');
    assert.match(client.replies()[seen]!.message, /not valid JSON/);
    assert.equal((await client.call('get_status', {}, 'after')).status, 'ok');
    client.close();
  });
});

describe('large frames over an HTTP upstream', { timeout: 20_000 }, () => {
  it('posts a large call’s params to the HTTP API as they came, never parsed, and answers with the caller’s echo', async () => {
    const fake = await FakeHttpImplementation.start();
    const relay = await startTestRelay(fake.url, { upstreamPostListen: '127.0.0.1:0' });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up', 'the HTTP API up');
      const file = image('SFRU');
      // Spacing no JSON.stringify writes: only params posted as they came keep it.
      const params = `{ "group_id" : 30003, "message": [{"type": "image", "data": {"file": "${file}"}}] }`;
      const seen = client.replies().length;
      client.send(`{"action": "send_group_msg", "params": ${params}, "echo": "big"}`);
      await waitFor(() => client.replies().length > seen, 'the reply');
      const reply = client.replies()[seen]!;
      assert.equal(reply.status, 'ok');
      assert.equal(reply.echo, 'big');
      const at = fake.calls.findIndex((c) => c.action === 'send_group_msg');
      assert.ok(at >= 0, 'the call reached the HTTP API');
      assert.equal(fake.bodies[at], params);
    } finally {
      client.close();
      await relay.stop();
      await fake.kill();
    }
  });
});
