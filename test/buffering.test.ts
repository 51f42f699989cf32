// Nothing lost while a target is away: named clients, reverse targets and POST targets get their events
// replayed in order on return; anonymous clients get live events only; the buffer is bounded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_AWAY_NAMES } from '../src/downstream/ws-server.ts';
import { EventBuffer } from '../src/event-buffer.ts';
import { createLogger } from '../src/log.ts';
import { FakeFramework, FakeWebhook } from './fake-framework.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, waitFor } from './helpers.ts';

describe('event buffer', () => {
  const logs: string[] = [];
  const log = createLogger('debug', (l) => logs.push(l));

  it('keeps events in order and drops the oldest past its count or byte limit, warning once', () => {
    const byCount = new EventBuffer('t', { events: 3, bytes: 1e9, age: 60_000 }, log);
    for (let i = 1; i <= 5; i++) byCount.push(`e${i}`);
    assert.equal(byCount.size, 3);
    assert.equal(byCount.dropped, 2);
    assert.deepEqual([byCount.shift()?.text, byCount.shift()?.text, byCount.shift()?.text, byCount.shift()], ['e3', 'e4', 'e5', undefined]);
    assert.equal(logs.filter((l) => /dropping the oldest/.test(l)).length, 1, 'one warning per outage');
    const byBytes = new EventBuffer('t', { events: 100, bytes: 10, age: 60_000 }, log);
    byBytes.push('aaaa');
    byBytes.push('你好'); // 6 bytes in UTF-8
    byBytes.push('b');
    assert.deepEqual([byBytes.shift()?.text, byBytes.shift()?.text], ['你好', 'b']);
  });

  it('drops events older than its age limit', async () => {
    const buffer = new EventBuffer('t', { events: 100, bytes: 1e9, age: 50 }, log);
    buffer.push('old');
    await new Promise((r) => setTimeout(r, 80));
    buffer.push('new');
    assert.deepEqual([buffer.shift()?.text, buffer.shift()], ['new', undefined]);
    assert.equal(buffer.dropped, 1);
  });

  it('takes back an event that could not be sent, in front, as old as it was and under the same limits', async () => {
    const buffer = new EventBuffer('t', { events: 2, bytes: 1e9, age: 50 }, log);
    buffer.push('first');
    const taken = buffer.shift()!;
    buffer.push('second');
    buffer.unshift(taken);
    assert.equal(buffer.peek(), 'first');
    buffer.push('third'); // over the count: the oldest, the one put back, goes
    assert.deepEqual([buffer.shift()?.text, buffer.shift()?.text], ['second', 'third']);
    buffer.push('fourth');
    const old = buffer.shift()!;
    await new Promise((r) => setTimeout(r, 80));
    buffer.unshift(old); // it waited past the age limit while it was being sent
    assert.equal(buffer.size, 0);
    assert.equal(buffer.dropped, 2);
  });
});

describe('buffering while targets are away', { timeout: 30_000 }, () => {
  it('replays a named WS client its missed events in order before live ones; an anonymous client gets none', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    try {
      let named = await TestClient.connect(`${relay.wsUrl}/?client=nonebot`);
      let anonymous = await TestClient.connect(relay.wsUrl);
      await named.waitForFrames(() => named.meta('lifecycle').length === 1, 'lifecycle');
      const first = fake.emit(3);
      await named.waitForFrames(() => named.events().length === 3, 'live events');
      named.close();
      anonymous.close();
      await waitFor(() => relay.relay.hub.health().clients === 0, 'both gone');
      const missed = fake.emit(5);
      named = await TestClient.connect(relay.wsUrl, { 'X-Client-Name': 'nonebot' });
      anonymous = await TestClient.connect(relay.wsUrl);
      const live = fake.emit(2);
      await named.waitForFrames(() => named.events().length === 7, 'replayed and live events');
      assert.equal(named.parsed()[0]!.sub_type, 'connect', 'lifecycle connect comes first');
      assert.deepEqual(named.events(), [...missed, ...live]);
      await anonymous.waitForFrames(() => anonymous.events().length === 2, 'live events only');
      assert.deepEqual(anonymous.events(), live);
      assert.equal(first.length + missed.length + live.length, 10);
      assert.ok(relay.logs.some((l) => /client "nonebot" is back: replaying 5 buffered event/.test(l)));
      named.close();
      anonymous.close();
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('lets a newer connection with the same name replace the older, without duplicating events', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url);
    try {
      const older = await TestClient.connect(`${relay.wsUrl}/?client=koishi`);
      await older.waitForFrames(() => older.meta('lifecycle').length === 1, 'lifecycle');
      const newer = await TestClient.connect(`${relay.wsUrl}/?client=koishi`);
      assert.equal((await older.closed).code, 1008);
      const sent = fake.emit(4);
      await newer.waitForFrames(() => newer.events().length === 4, 'events on the newer');
      assert.deepEqual(newer.events(), sent);
      newer.close();
      await waitFor(() => relay.relay.hub.health().clients === 0, 'gone');
      const again = await TestClient.connect(`${relay.wsUrl}/?client=koishi`);
      await again.waitForFrames(() => again.meta('lifecycle').length === 1, 'lifecycle');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(again.events(), [], 'nothing was kept twice');
      again.close();
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('replays a reverse target and a POST target their missed events once each, in order', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/ws`], post: [hook.url] });
    try {
      await framework.live();
      const before = fake.emit(3);
      await waitFor(() => hook.events().length === 3 && framework.events(framework.open()[0]!).length === 3, 'live delivery');
      await framework.stop();
      await hook.stop();
      // The POST target is found away at its next request; the reverse target when its socket closes.
      await waitFor(() => relay.logs.some((l) => /reverse target .* closed/.test(l)), 'the reverse target seen away');
      const during = fake.emit(6);
      await new Promise((r) => setTimeout(r, 200));
      await framework.restart();
      await hook.restart();
      await waitFor(() => hook.events().length === 9, 'the POST target to catch up', 8000);
      await waitFor(() => framework.sockets.flatMap((s) => framework.events(s)).length >= 9, 'the reverse target to catch up', 8000);
      const after = fake.emit(2);
      await waitFor(() => hook.events().length === 11 && framework.sockets.flatMap((s) => framework.events(s)).length === 11, 'live again');
      const expected = [...before, ...during, ...after];
      assert.deepEqual(
        framework.sockets.flatMap((s) => framework.events(s)),
        expected,
        'reverse: every event once, in order',
      );
      assert.deepEqual(
        hook.events().map((e) => JSON.stringify(e)),
        expected.map((e) => JSON.stringify(JSON.parse(e))),
        'POST: every event once, in order',
      );
    } finally {
      await relay.stop();
      await framework.stop();
      await hook.stop();
      await fake.stop();
    }
  });

  it('says lifecycle disable to every client before closing them on shutdown', async () => {
    const fake = await FakeImplementation.start();
    const framework = await FakeFramework.start();
    const hook = await FakeWebhook.start();
    const relay = await startTestRelay(fake.url, { reverse: [`${framework.url}/ws`], post: [hook.url] });
    const client = await TestClient.connect(relay.wsUrl);
    try {
      await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
      await framework.live();
      await relay.stop();
      assert.equal((await client.closed).code, 1001);
      assert.deepEqual(
        client.meta('lifecycle').map((l) => l.sub_type),
        ['connect', 'disable'],
      );
      assert.deepEqual(
        framework
          .parsed(framework.sockets[0]!)
          .filter((f) => f.meta_event_type === 'lifecycle')
          .map((f) => f.sub_type),
        ['connect', 'disable'],
      );
      assert.ok(
        hook.posts.some((p) => JSON.parse(p.body).sub_type === 'disable'),
        'the POST target is told too',
      );
    } finally {
      client.close();
      await framework.stop();
      await hook.stop();
      await fake.stop();
    }
  });
});

describe('replays bigger than a client can take at once', { timeout: 30_000 }, () => {
  it('gives events once when a newer socket takes a name in the middle of a replay', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { queueLimit: 64 * 1024 });
    try {
      const first = await TestClient.connect(`${relay.wsUrl}/?client=twice`);
      await first.waitForFrames(() => first.meta('lifecycle').length === 1, 'lifecycle');
      first.close();
      await waitFor(() => relay.relay.hub.health().clients === 0, 'away');
      const padding = 'p'.repeat(1024);
      for (let i = 0; i < 400; i++)
        fake.broadcast(
          JSON.stringify({
            time: 1,
            self_id: fake.selfId,
            post_type: 'message',
            message_type: 'private',
            message_id: i,
            raw_message: padding,
          }),
        );
      await waitFor(() => relay.relay.adapters[0]!.clients().some((c) => c.name === 'twice' && c.buffered === 400), 'kept');
      const older = await TestClient.connect(`${relay.wsUrl}/?client=twice`);
      await older.waitForFrames(() => older.events().length > 0, 'the replay started');
      const newer = await TestClient.connect(`${relay.wsUrl}/?client=twice`);
      const live = fake.emit(20);
      await older.closed;
      await newer.waitForFrames(
        () => newer.events().length + older.events().length >= 420,
        'every event on one socket or the other',
        10_000,
      );
      await new Promise((r) => setTimeout(r, 100));
      const all = [...older.events(), ...newer.events()];
      assert.equal(new Set(all).size, all.length, 'no event twice');
      assert.deepEqual(newer.events().slice(-20), live, 'the live events once, after the rest of the replay');
      newer.close();
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('paces a replay to the client instead of overflowing its queue, keeping live events behind it', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { queueLimit: 256 * 1024 });
    try {
      const first = await TestClient.connect(`${relay.wsUrl}/?client=big`);
      await first.waitForFrames(() => first.meta('lifecycle').length === 1, 'lifecycle');
      first.close();
      await waitFor(() => relay.relay.hub.health().clients === 0, 'away');
      const padding = 'p'.repeat(1024);
      const missed: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const text = JSON.stringify({
          time: 1,
          self_id: fake.selfId,
          post_type: 'message',
          message_type: 'private',
          message_id: i,
          raw_message: padding,
        });
        missed.push(text);
        fake.broadcast(text);
      }
      await waitFor(() => relay.relay.adapters[0]!.clients().some((c) => c.name === 'big' && c.buffered === 3000), '3 MB kept');
      const back = await TestClient.connect(`${relay.wsUrl}/?client=big`);
      const live = fake.emit(5);
      await back.waitForFrames(() => back.events().length === 3005, 'the whole replay, then the live events', 15_000);
      assert.deepEqual(back.events(), [...missed, ...live]);
      assert.equal(back.ws.readyState, back.ws.OPEN, 'never dropped as too slow (3 MB through a 256 KB queue)');
      back.close();
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('keeps an away named client its latest events however long it is away, and past 16 away names forgets the longest away', async () => {
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { bufferAge: 300 });
    const kept = (name: string) => relay.relay.adapters[0]!.clients().find((c) => c.name === name);
    try {
      for (let i = 0; i <= MAX_AWAY_NAMES; i++) {
        const client = await TestClient.connect(`${relay.wsUrl}/?client=c${i}`);
        await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle');
        client.close();
        await waitFor(() => relay.relay.hub.health().clients === 0, 'away');
        if (i === 0) {
          await new Promise((r) => setTimeout(r, 400)); // longer than the buffer age
          fake.emit(1);
          await waitFor(() => kept('c0')?.buffered === 1, 'c0 kept its latest event');
        }
      }
      assert.ok(
        relay.logs.some((l) =>
          /more than 16 named clients away: forgetting client "c0", the longest away, and its 1 kept event\(s\)/.test(l),
        ),
      );
      assert.equal(kept('c0'), undefined);
      assert.ok(kept('c1') && kept(`c${MAX_AWAY_NAMES}`));
      const metrics = await (await fetch(`${relay.adminUrl}/metrics`)).text();
      assert.match(metrics, /onebot_relay_events_dropped_total\{endpoint="ws:[^"]*"\} 1\n/, 'the forgotten event is counted as dropped');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });
});
