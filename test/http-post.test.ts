// HTTP POST targets: exact JSON.stringify bodies, signatures, quick operations, order, retries only when safe.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { FakeWebhook } from './fake-framework.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, waitFor } from './helpers.ts';

const sign = (secret: string, body: string) => `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;

describe('HTTP POST targets (--post)', { timeout: 30_000 }, () => {
  it('POSTs each event in order as JSON.stringify bytes with X-Self-ID and a valid X-Signature', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url, { post: [hook.url], secret: 'shh' });
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'self_id');
      const sent = fake.emit(30);
      await waitFor(() => hook.eventPosts().length === 30, '30 posts');
      const enable = JSON.parse(hook.posts[0]!.body);
      assert.deepEqual([enable.meta_event_type, enable.sub_type, enable.self_id], ['lifecycle', 'enable', fake.selfId], 'enable first');
      hook.eventPosts().forEach((post, i) => {
        assert.equal(post.body, JSON.stringify(JSON.parse(sent[i]!)), 'compact, unescaped, key order kept');
        assert.equal(post.headers['content-type'], 'application/json');
        assert.equal(post.headers['x-self-id'], String(fake.selfId));
        assert.equal(post.headers['x-signature'], sign('shh', post.body));
      });
      assert.ok(hook.eventPosts()[0]!.body.includes('你好'), 'non-ASCII is not \\u-escaped');
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('carries out a quick operation from the reply, and does nothing for 204 or an empty body', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    let n = 0;
    hook.answer = (post) =>
      JSON.parse(post.body).post_type === 'meta_event'
        ? { status: 204 }
        : n++ === 0
          ? { status: 200, body: JSON.stringify({ reply: 'pong', at_sender: false }) }
          : n === 2
            ? { status: 200, body: '' }
            : { status: 204 };
    const relay = await startTestRelay(fake.url, { post: [hook.url] });
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'self_id');
      const [first] = fake.emit(3);
      await waitFor(() => fake.calls.some((c) => c.action === '.handle_quick_operation'), 'the quick operation');
      await waitFor(() => hook.eventPosts().length === 3, 'all posts');
      const quick = fake.calls.filter((c) => c.action === '.handle_quick_operation');
      assert.equal(quick.length, 1);
      assert.deepEqual(quick[0]!.params, { context: JSON.parse(first!), operation: { reply: 'pong', at_sender: false } });
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('holds events for a refused target and delivers them once, in order, when it comes back; others never wait', async () => {
    const fake = await FakeImplementation.start();
    const down = await FakeWebhook.start();
    const up = await FakeWebhook.start();
    await down.stop();
    const relay = await startTestRelay(fake.url, { post: [down.url, up.url] });
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'self_id');
      const sent = fake.emit(10);
      await waitFor(() => up.eventPosts().length === 10, 'the healthy target');
      await new Promise((r) => setTimeout(r, 300));
      await down.restart();
      await waitFor(() => down.posts.length === 11, 'the returning target', 5000);
      assert.equal(JSON.parse(down.posts[0]!.body).sub_type, 'enable', 'the kept lifecycle enable first');
      assert.deepEqual(
        down.eventPosts().map((p) => p.body),
        sent.map((s) => JSON.stringify(JSON.parse(s))),
      );
      assert.ok(relay.logs.some((l) => /cannot reach HTTP POST to/.test(l)));
    } finally {
      await relay.stop();
      await down.stop();
      await up.stop();
      await fake.stop();
    }
  });

  it('tries a refused target again with the next event when all it kept has expired (a quiet bot, a long outage)', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    await hook.stop();
    const relay = await startTestRelay(fake.url, { post: [hook.url], bufferAge: 150, reconnectMax: 100 });
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'self_id');
      fake.emit(1);
      await waitFor(() => relay.logs.some((l) => /cannot reach HTTP POST to/.test(l)), 'the refusal');
      await new Promise((r) => setTimeout(r, 400)); // the kept event expires; retries find nothing to send
      await hook.restart();
      const [later] = fake.emit(1);
      await waitFor(() => hook.posts.length === 1, 'the next event delivered');
      assert.equal(hook.posts[0]!.body, JSON.stringify(JSON.parse(later!)));
      const { dropped } = relay.relay.adapters.find((a) => a.name.startsWith('HTTP POST'))!.totals();
      assert.equal(dropped, 2, 'the expired event and lifecycle enable are counted');
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('never drops the event it is posting to a slow target when its queue overflows', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    hook.answer = (post) => ({ status: 204, delay: JSON.parse(post.body).post_type === 'message' ? 50 : 0 });
    const relay = await startTestRelay(fake.url, { post: [hook.url], bufferEvents: 2 });
    const target = relay.relay.adapters.find((a) => a.name.startsWith('HTTP POST'))!;
    try {
      await waitFor(() => target.totals().delivered === 1, 'the lifecycle enable');
      const sent = fake.emit(10);
      await waitFor(() => hook.eventPosts().length === 3, 'the first, then the two newest');
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(
        hook.eventPosts().map((p) => p.body),
        [sent[0], sent[8], sent[9]].map((s) => JSON.stringify(JSON.parse(s!))),
      );
      assert.equal(target.totals().dropped, 7);
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('never resends an event whose request timed out after it was sent', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    hook.answer = (post) => (JSON.parse(post.body).message_id === 1 ? { status: 204, delay: 800 } : { status: 204 });
    const relay = await startTestRelay(fake.url, { post: [{ url: hook.url, timeout: 300 }] });
    try {
      await waitFor(() => relay.relay.hub.health().self_id !== null, 'self_id');
      fake.emit(3);
      await waitFor(() => hook.eventPosts().length >= 3, 'all three');
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(
        hook.events().map((e) => e.message_id),
        [1, 2, 3],
        'each event POSTed once',
      );
      assert.ok(relay.logs.some((l) => /no answer within 300 ms; the event counts as failed and is not resent/.test(l)));
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('sends relay heartbeats to a target that asks for them', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url, { post: [{ url: hook.url, heartbeat: 100 }] });
    try {
      await waitFor(() => hook.posts.filter((p) => p.body.includes('"heartbeat"')).length >= 2, 'heartbeats');
      const beat = JSON.parse(hook.posts.find((p) => p.body.includes('"heartbeat"'))!.body);
      assert.equal(beat.interval, 100);
      assert.equal(beat.self_id, fake.selfId);
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });
});

describe('HTTP POST targets, harder cases', { timeout: 30_000 }, () => {
  it('keeps delivering after a heartbeat found the target away, and retries events a 502 or 503 turned away', async () => {
    const fake = await FakeImplementation.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url, { post: [{ url: hook.url, heartbeat: 100 }] });
    try {
      await waitFor(() => hook.posts.some((p) => p.body.includes('"heartbeat"')), 'a heartbeat');
      await hook.stop();
      await new Promise((r) => setTimeout(r, 300)); // heartbeats fail meanwhile
      await hook.restart();
      let unavailable = 2;
      hook.answer = (post) =>
        JSON.parse(post.body).post_type === 'message' && unavailable-- > 0 ? { status: unavailable ? 502 : 503 } : { status: 204 };
      const sent = fake.emit(3);
      await waitFor(
        () => hook.events().filter((e) => e.post_type === 'message').length >= 5,
        'the events, twice turned away then taken',
        8000,
      );
      const messages = hook.posts.map((p) => p.body).filter((b) => JSON.parse(b).post_type === 'message');
      const [first, second, third] = sent.map((s) => JSON.stringify(JSON.parse(s)));
      assert.deepEqual(
        messages,
        [first, first, first, second, third],
        'the first event retried after the 502 and the 503, then all in order',
      );
      assert.equal(relay.relay.adapters[1]!.clients()[0]!.failed, 0, 'turned away is not failed');
    } finally {
      await relay.stop();
      await hook.stop();
      await fake.stop();
    }
  });
});
