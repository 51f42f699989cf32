// Faults of the frameworks: a reverse target and a POST target go away for a while during a steady stream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeFramework, FakeWebhook } from '../fake-framework.ts';
import { FakeImplementation } from '../fake-impl.ts';
import { startTestRelay, waitFor } from '../helpers.ts';
import { inOrder, tally } from './tally.ts';

async function setUp() {
  const fake = await FakeImplementation.start();
  const framework = await FakeFramework.start();
  const hook = await FakeWebhook.start();
  const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/onebot/v11/ws`], post: [hook.url] });
  await framework.live();
  const sent: number[] = [];
  let streaming = true;
  let paused = false;
  // 25 events every 20 ms.
  const stream = (async () => {
    while (streaming) {
      if (!paused) for (const text of fake.emit(25)) sent.push(JSON.parse(text).message_id);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const received = {
    reverse: () =>
      framework.sockets
        .flatMap((s) => framework.parsed(s))
        .filter((f) => f.post_type === 'message')
        .map((f) => f.message_id as number),
    post: () => hook.events().map((e) => e.message_id as number),
  };
  // The POST target is caught up one request at a time: allow for a loaded machine.
  const caughtUp = (what: string) =>
    waitFor(() => received.reverse().includes(sent.at(-1)!) && received.post().includes(sent.at(-1)!), what, 25_000);
  return {
    fake,
    framework,
    hook,
    relay,
    sent,
    received,
    caughtUp,
    pause: (on: boolean) => (paused = on),
    async tearDown() {
      streaming = false;
      await stream;
      await relay.stop();
      await framework.stop();
      await hook.stop();
      await fake.stop();
    },
    async finish() {
      streaming = false;
      await stream;
      await caughtUp('both targets to catch up');
    },
  };
}

describe('fault: targets away during a stream', { timeout: 90_000 }, () => {
  it('replays every event produced while a reverse target and a POST target were away: once each, in order', async () => {
    const t = await setUp();
    try {
      await new Promise((r) => setTimeout(r, 200));
      // Take them down between two events (nothing in flight), as a framework restart or a network cut does.
      t.pause(true);
      await t.caughtUp('events so far');
      await t.framework.stop();
      await t.hook.stop();
      t.pause(false);
      await new Promise((r) => setTimeout(r, 800));
      await t.framework.restart();
      await t.hook.restart();
      await new Promise((r) => setTimeout(r, 300));
      await t.finish();
      for (const [name, got] of [
        ['reverse target away and back', t.received.reverse()],
        ['POST target away and back', t.received.post()],
      ] as const) {
        const result = tally(name, t.sent, got);
        assert.equal(result.lost, 0, `${name}: nothing lost (first missing: ${t.sent.find((n) => !got.includes(n))})`);
        assert.equal(result.duplicated, 0, `${name}: no duplicates`);
        assert.ok(inOrder(got), `${name}: in order`);
      }
    } finally {
      await t.tearDown();
    }
  });

  it('never duplicates when a target dies with events in flight (those few may be lost: at most once)', async () => {
    const t = await setUp();
    try {
      await new Promise((r) => setTimeout(r, 200));
      await t.framework.stop(); // mid-stream: frames already written to the dying socket are gone
      await t.hook.stop(); // a POST in flight fails and is not resent
      await new Promise((r) => setTimeout(r, 500));
      await t.framework.restart();
      await t.hook.restart();
      await new Promise((r) => setTimeout(r, 300));
      await t.finish();
      for (const [name, got] of [
        ['reverse target killed mid-stream', t.received.reverse()],
        ['POST target killed mid-stream', t.received.post()],
      ] as const) {
        const result = tally(name, t.sent, got);
        assert.equal(result.duplicated, 0, `${name}: no duplicates`);
        assert.ok(inOrder(got), `${name}: in order`);
        assert.ok(result.lost <= 50, `${name}: at most the events in flight were lost (${result.lost})`);
      }
    } finally {
      await t.tearDown();
    }
  });
});
