// Delivery profiles end to end: one relay, one event stream, clients with different profiles each get their
// shape; clients without one get the exact bytes; replies follow the caller's format; a reload changes
// profiles of connected clients without reconnecting them; reverse and POST targets take profiles too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeFramework, FakeWebhook } from './fake-framework.ts';
import { FakeImplementation, inputStatus, STORED_CQ, STORED_MESSAGE } from './fake-impl.ts';
import { startTestRelay, TestClient, type TestRelay, waitFor } from './helpers.ts';

const SELF = 10001;
const event = (fields: Record<string, unknown>) => JSON.stringify({ time: 1_700_000_000, self_id: SELF, ...fields });
const message = (n: number, fields: Record<string, unknown> = {}) =>
  event({
    post_type: 'message',
    message_type: 'group',
    sub_type: 'normal',
    message_id: n,
    group_id: 30003,
    user_id: 20002,
    message: [
      { type: 'text', data: { text: `#${n} [x] & y, ` } },
      { type: 'at', data: { qq: '10001' } },
    ],
    raw_message: `#${n} &#91;x&#93; &amp; y, [CQ:at,qq=10001]`,
    font: 0,
    sender: { user_id: 20002, nickname: 'n' },
    ...fields,
  });
const asCq = (n: number) => `#${n} &#91;x&#93; &amp; y, [CQ:at,qq=10001]`;

/** The stream every client is offered: messages of two groups, the account's own message, NapCat's quirks. */
const STREAM = [
  message(1),
  message(2, { group_id: 40004 }),
  event({
    post_type: 'message_sent',
    message_type: 'group',
    message_id: 3,
    group_id: 30003,
    user_id: SELF,
    message: [],
    raw_message: '',
    font: 0,
  }),
  inputStatus(SELF),
  message(5, { font: '宋体' }),
  event({ post_type: 'notice', notice_type: 'group_recall', group_id: 30003, user_id: 20002, operator_id: 20002, message_id: 1 }),
];

describe('delivery profiles over one WebSocket server', { timeout: 30_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;

  before(async () => {
    fake = await FakeImplementation.start({ selfId: SELF });
    relay = await startTestRelay(fake.url, {
      ws: [
        {
          listen: '127.0.0.1:0',
          clients: {
            cq: { messagePostFormat: 'string' },
            quiet: { filter: { group_id: { '.in': [30003] } }, reportSelfMessage: false },
            nb: { compat: ['numericFont', 'dropNonStandardNotices'] },
          },
        },
      ],
      http: [{ listen: '127.0.0.1:0', messagePostFormat: 'string' }],
    });
    await waitFor(() => relay.relay.hub.health().self_id !== null, 'the relay to learn self_id');
  });
  after(async () => {
    await relay.stop();
    await fake.stop();
  });

  async function connect(name?: string): Promise<TestClient> {
    const client = await TestClient.connect(name ? `${relay.wsUrl}/?client=${name}` : relay.wsUrl);
    await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
    return client;
  }

  it('gives each client its shape, and the exact bytes to clients without a profile', async () => {
    const [raw, raw2, cq, quiet, nb] = await Promise.all([connect(), connect('unlisted'), connect('cq'), connect('quiet'), connect('nb')]);
    for (const text of STREAM) fake.broadcast(text);
    await raw.waitForFrames(() => raw.events().length === STREAM.length, 'every event');
    await raw2.waitForFrames(() => raw2.events().length === STREAM.length, 'every event');
    await cq.waitForFrames(() => cq.events().length === STREAM.length, 'every event');
    await quiet.waitForFrames(() => quiet.events().length === 3, 'its events');
    await nb.waitForFrames(() => nb.events().length === STREAM.length - 1, 'its events');

    assert.deepEqual(raw.events(), STREAM, 'no profile: byte for byte');
    assert.deepEqual(raw2.events(), STREAM, 'a name the settings do not list: byte for byte');

    const cqEvents = cq.events().map((t) => JSON.parse(t));
    assert.deepEqual(
      cqEvents.map((e) => e.message),
      [asCq(1), asCq(2), '', undefined, asCq(5), undefined],
      'messages (and message_sent) as CQ strings',
    );
    assert.deepEqual(
      cqEvents.map((e) => e.raw_message),
      STREAM.map((t) => JSON.parse(t).raw_message),
      'raw_message stays',
    );
    assert.equal(cq.events()[3], STREAM[3], 'an event without a message keeps its bytes');

    assert.deepEqual(
      quiet.events(),
      [STREAM[0], STREAM[4], STREAM[5]],
      'group 30003 only (the notice has no group), no own message; byte for byte',
    );

    const nbEvents = nb.events();
    assert.deepEqual([nbEvents[0], nbEvents[1], nbEvents[2], nbEvents[4]], [STREAM[0], STREAM[1], STREAM[2], STREAM[5]]);
    assert.deepEqual(JSON.parse(nbEvents[3]!), JSON.parse(message(5, { font: 0 })), 'a numeric font; input_status dropped');
    for (const c of [raw, raw2, cq, quiet, nb]) c.close();
  });

  it("answers get_msg in the caller's format, over WebSocket and the HTTP API", async () => {
    const [raw, cq] = await Promise.all([connect(), connect('cq')]);
    const asSent = await raw.call('get_msg', { message_id: 7 }, 'raw-1');
    assert.deepEqual(asSent.data.message, STORED_MESSAGE);
    const asCqReply = await cq.call('get_msg', { message_id: 7 }, 'cq-1');
    assert.equal(asCqReply.data.message, STORED_CQ);
    assert.equal(asCqReply.data.raw_message, STORED_CQ);
    assert.equal(asCqReply.echo, 'cq-1');
    const http = relay.relay.adapters.find((a) => a.name.includes('HTTP API'))!;
    const res = await fetch(`${http.name.split(' ')[0]}get_msg`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message_id: 7 }),
    });
    assert.equal((await res.json()).data.message, STORED_CQ);
    const sendReply = await cq.call('send_msg', { message: STORED_CQ }, 'cq-2');
    assert.equal(sendReply.status, 'ok');
    assert.equal(fake.calls.at(-1)!.params.message, STORED_CQ, 'calls pass as the client wrote them');
    raw.close();
    cq.close();
  });

  it('takes new profiles on reload without reconnecting a client', async () => {
    const cq = await connect('cq');
    fake.broadcast(message(10));
    await cq.waitForFrames(() => cq.events().length === 1, 'an event');
    assert.equal(JSON.parse(cq.events()[0]!).message, asCq(10));

    const ws = (relay.settings.ws as Record<string, any>[])[0]!;
    ws.clients = { ...ws.clients, cq: { messagePostFormat: 'array', filter: { '.not': { message_id: 12 } } } };
    assert.equal(await relay.relay.reload(), true);
    assert.ok(
      relay.logs.some((l) => l.includes('new delivery profiles for WebSocket server')),
      'the reload says so',
    );
    fake.broadcast(message(11));
    fake.broadcast(message(12));
    fake.broadcast(message(13));
    await cq.waitForFrames(() => cq.events().length === 3, 'two more events');
    assert.deepEqual(cq.events().slice(1), [message(11), message(13)], 'now as sent, and filtered');
    assert.equal(cq.meta('lifecycle').length, 1, 'no second lifecycle connect: the same connection');
    assert.equal(cq.ws.readyState, cq.ws.OPEN);
    const reply = await cq.call('get_msg', { message_id: 7 }, 'after-reload');
    assert.deepEqual(reply.data.message, STORED_MESSAGE);
    cq.close();
  });
});

describe('delivery profiles of reverse and POST targets', { timeout: 30_000 }, () => {
  let fake: FakeImplementation;
  let framework: FakeFramework;
  let webhook: FakeWebhook;
  let relay: TestRelay;

  before(async () => {
    fake = await FakeImplementation.start({ selfId: SELF });
    framework = await FakeFramework.start();
    webhook = await FakeWebhook.start();
    relay = await startTestRelay(fake.url, {
      reverse: [{ url: `${framework.url}/onebot/v11/ws`, messagePostFormat: 'string', reportSelfMessage: false }],
      post: [{ url: webhook.url, filter: { '.not': { notice_type: 'notify' } }, compat: ['numericFont'] }],
    });
    await framework.live();
  });
  after(async () => {
    await relay.stop();
    await framework.stop();
    await webhook.stop();
    await fake.stop();
  });

  it('each target gets the stream in its shape', async () => {
    for (const text of STREAM) fake.broadcast(text);
    const [socket] = framework.open();
    await waitFor(
      () => framework.events(socket!).length === STREAM.length - 1 && webhook.eventPosts().length === STREAM.length - 1,
      'the events',
    );
    const reverse = framework.events(socket!).map((t) => JSON.parse(t));
    assert.deepEqual(
      reverse.map((e) => e.message ?? e.notice_type),
      [asCq(1), asCq(2), 'notify', asCq(5), 'group_recall'],
      'CQ strings, no message_sent',
    );
    const posted = webhook.eventPosts().map((p) => p.body);
    assert.deepEqual([posted[0], posted[1], posted[2], posted[4]], [STREAM[0], STREAM[1], STREAM[2], STREAM[5]]);
    assert.equal(JSON.parse(posted[3]!).font, 0, 'numericFont; the input_status notice filtered out');
  });
});
