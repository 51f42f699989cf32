// The spool over real processes and sockets: the relay SIGKILLed while it keeps events for an away reverse
// target or POST target, restarted, and the target back: every kept event arrives, in order, once. Also with
// the last record torn by hand, with a folder that cannot be written, and a clean restart after a full replay.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeFramework, FakeWebhook } from '../fake-framework.ts';
import { FakeImplementation } from '../fake-impl.ts';
import { freePort, type RelayProcess, runRelay, TestClient, waitFor } from '../helpers.ts';
import { inOrder, tally } from './tally.ts';

/** The fake implementation streaming 20 events every 20 ms while a relay is connected; what reached a relay, in order. */
function stream(fake: FakeImplementation) {
  const sent: number[] = [];
  let on = true;
  let paused = false;
  const done = (async () => {
    while (on) {
      const connected = [...fake.sockets].some((ws) => ws.readyState === ws.OPEN);
      const texts = paused ? [] : fake.emit(20);
      if (connected) sent.push(...texts.map((t) => JSON.parse(t).message_id as number));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    sent,
    pause: (value: boolean) => (paused = value),
    async stop() {
      on = false;
      await done;
    },
  };
}

/** The relay as a process, with a spool, its admin endpoint on a known port. */
class Relay {
  process: RelayProcess;
  private constructor(
    private readonly args: string[],
    readonly admin: string,
  ) {
    this.process = runRelay(args);
  }

  static async start(upstream: string, spool: string, targets: string[]): Promise<Relay> {
    const admin = `127.0.0.1:${await freePort()}`;
    const ws = `127.0.0.1:${await freePort()}`;
    const args = ['--upstream', upstream, '--spool', spool, '--ws', ws, '--admin', admin, '--reconnect-max', '300', ...targets];
    const relay = new Relay(args, admin);
    await relay.ready();
    return relay;
  }

  get wsUrl(): string {
    return `ws://${this.args[this.args.indexOf('--ws') + 1]}`;
  }

  async ready(): Promise<void> {
    await waitFor(() => /stop with Ctrl\+C/.test(this.process.output()), 'the relay to start', 15_000);
  }

  /** Events kept now for the targets of one kind of endpoint. */
  async kept(endpoint: RegExp): Promise<number> {
    const status = (await (await fetch(`http://${this.admin}/status.json`)).json()) as {
      endpoints: { name: string; clients: { buffered: number }[] }[];
    };
    return status.endpoints.filter((e) => endpoint.test(e.name)).reduce((n, e) => n + e.clients.reduce((m, c) => m + c.buffered, 0), 0);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.process.child.exitCode !== null || this.process.child.signalCode !== null) return;
    this.process.child.kill(signal);
    await this.process.exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    this.process = runRelay(this.args);
    await this.ready();
  }
}

/** waitFor, for a condition that must ask over the network. */
async function until(condition: () => Promise<boolean>, what: string, timeout = 20_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a fault case runs with: a temp folder, the fake implementation, a relay with its spool in the folder. */
interface Setup {
  dir: string;
  fake: FakeImplementation;
  relay: Relay;
}

/**
 * Run `test` with a fresh Setup, the relay given `targets` and its spool at `spoolIn(dir)`; the relay, the fake and
 * the folder go after it, whatever happens.
 */
async function withRelay(
  targets: string[],
  test: (setup: Setup) => Promise<void>,
  spoolIn = (dir: string) => join(dir, 'spool'),
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-fault-'));
  const fake = await FakeImplementation.start();
  let relay: Relay | undefined;
  try {
    relay = await Relay.start(fake.url, spoolIn(dir), targets);
    await test({ dir, fake, relay });
  } finally {
    await relay?.kill();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fake framework that is away from the start, on a port known to the relay. */
async function awayFramework(): Promise<FakeFramework> {
  const framework = await FakeFramework.start();
  await framework.stop();
  return framework;
}

/** The newest segment file in the spool. */
function lastSegment(spool: string): string {
  const files = readdirSync(spool).flatMap((folder) =>
    readdirSync(join(spool, folder))
      .filter((f) => f.endsWith('.seg'))
      .map((f) => join(spool, folder, f)),
  );
  return files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).at(-1)!;
}

const messageIds = (frames: Record<string, any>[]) => frames.filter((f) => f.post_type === 'message').map((f) => f.message_id as number);

describe('fault: the relay killed while it keeps events', { timeout: 120_000 }, () => {
  for (const torn of [false, true]) {
    it(`replays every kept event to a reverse target once, in order, after a SIGKILL mid-stream${torn ? ', the last record torn by hand' : ''}; a clean restart after it replays nothing`, async () => {
      const framework = await awayFramework();
      try {
        await withRelay(['--reverse', `${framework.url}/onebot/v11/ws`], async ({ dir, fake, relay }) => {
          const feed = stream(fake);
          try {
            await waitFor(() => feed.sent.length >= 500, '500 events to reach the relay', 20_000);
            const keptBefore = await relay.kept(/reverse/);
            const sentBefore = [...feed.sent];
            await relay.kill();
            if (torn) appendFileSync(lastSegment(join(dir, 'spool')), Buffer.from([200, 0, 0, 0, 1, 2]));
            const gap = feed.sent.length;
            await relay.restart();
            await waitFor(() => feed.sent.length >= gap + 500, '500 more events after the restart', 20_000);
            await feed.stop();
            const after = feed.sent.slice(gap);
            await until(async () => (await relay.kept(/reverse/)) >= after.length, 'the relay to keep them');

            await framework.restart();
            const received = () => framework.sockets.flatMap((s) => messageIds(framework.parsed(s)));
            await waitFor(() => received().includes(after.at(-1)!), 'the replay to finish', 20_000);
            // Kept before the kill: the first keptBefore events it had had (a few more were in flight when it died).
            const kept = [...sentBefore.slice(0, keptBefore), ...after];
            const result = tally(`relay SIGKILLed with a reverse target away${torn ? ', last record torn' : ''}`, kept, received());
            assert.ok(keptBefore >= 500, `${keptBefore} kept before the kill`);
            assert.equal(result.lost, 0);
            assert.equal(result.duplicated, 0);
            assert.ok(inOrder(received()), 'in order');
            if (torn) assert.match(relay.process.output(), /ends with .*: cutting it off there/);

            const replayed = received().length;
            await relay.kill('SIGTERM');
            await relay.restart();
            const live = () =>
              framework
                .open()
                .at(-1)
                ?.frames.some((f) => f.includes('"connect"')) ?? false;
            await waitFor(live, 'a new socket');
            await new Promise((r) => setTimeout(r, 500));
            assert.equal(received().length, replayed, 'a clean restart after a full replay replays nothing');
          } finally {
            await feed.stop();
          }
        });
      } finally {
        await framework.stop();
      }
    });
  }

  it('replays the kept events of a POST target killed mid-stream, across a relay SIGKILL, none twice', async () => {
    const hook = await FakeWebhook.start();
    try {
      await withRelay(['--post', hook.url], async ({ fake, relay }) => {
        const feed = stream(fake);
        try {
          await waitFor(() => feed.sent.length >= 300, '300 events', 20_000);
          await hook.stop(); // mid-stream: a POST may be in flight
          await until(async () => (await relay.kept(/POST/)) >= 300, '300 events kept for the POST target');
          // Between two events, so that what the implementation sent is what the relay had.
          feed.pause(true);
          await new Promise((r) => setTimeout(r, 200));
          await relay.kill();
          const gap = feed.sent.length;
          await relay.restart();
          feed.pause(false);
          await waitFor(() => feed.sent.length >= gap + 300, '300 more events after the restart', 20_000);
          await feed.stop();
          await hook.restart();
          const received = () => messageIds(hook.events());
          await waitFor(() => received().includes(feed.sent.at(-1)!), 'the POST target to catch up', 30_000);
          const result = tally('POST target killed mid-stream, then the relay SIGKILLed', feed.sent, received());
          assert.equal(result.duplicated, 0);
          assert.ok(inOrder(received()), 'in order');
          // At most once: a POST in flight when the target died, and one being tried when the relay died.
          assert.ok(result.lost <= 2, `${result.lost} lost`);
        } finally {
          await feed.stop();
        }
      });
    } finally {
      await hook.stop();
    }
  });

  it('replays a named WebSocket client its kept events after a SIGKILL, then those kept since, in order', () =>
    withRelay([], async ({ fake, relay }) => {
      const first = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      await waitFor(() => first.parsed().some((f) => f.meta_event_type === 'lifecycle'), 'its lifecycle connect');
      first.ws.close();
      await new Promise((r) => setTimeout(r, 300)); // the relay sees it go
      const before = fake.emit(200).map((t) => JSON.parse(t).message_id as number);
      await until(async () => (await relay.kept(/WebSocket server/)) === 200, '200 events kept for it');
      await relay.restart();
      await waitFor(() => [...fake.sockets].some((ws) => ws.readyState === ws.OPEN), 'the restarted relay to connect');
      await until(async () => (await relay.kept(/WebSocket server/)) === 200, 'the 200 recovered for it');
      const since = fake.emit(100).map((t) => JSON.parse(t).message_id as number);
      await until(async () => (await relay.kept(/WebSocket server/)) === 300, '100 more kept');
      const back = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      await waitFor(() => messageIds(back.parsed()).length === 300, 'all 300', 10_000);
      const result = tally('relay SIGKILLed with a named WebSocket client away', [...before, ...since], messageIds(back.parsed()));
      assert.deepEqual(messageIds(back.parsed()), [...before, ...since]);
      assert.equal(result.duplicated, 0);
      back.ws.close();
    }));

  it('keeps events for a named WebSocket client that was connected when the relay was SIGKILLed, until it is back', () =>
    withRelay([], async ({ fake, relay }) => {
      const first = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      await waitFor(() => first.parsed().some((f) => f.meta_event_type === 'lifecycle'), 'its lifecycle connect');
      await relay.restart(); // SIGKILL: it was connected, nothing was kept for it
      await waitFor(() => [...fake.sockets].some((ws) => ws.readyState === ws.OPEN), 'the restarted relay to connect');
      const sent = fake.emit(100).map((t) => JSON.parse(t).message_id as number);
      await until(async () => (await relay.kept(/WebSocket server/)) === 100, '100 events kept for it before it is back');
      const back = await TestClient.connect(`${relay.wsUrl}/?client=bot`);
      await waitFor(() => messageIds(back.parsed()).length === 100, 'all 100');
      assert.deepEqual(messageIds(back.parsed()), sent);
      back.ws.close();
    }));

  it('keeps events in memory when the spool folder cannot be written: one warning, delivery goes on', async () => {
    const framework = await awayFramework();
    // As root, permissions do not stop a write: a file where a folder should be does.
    const fileInTheWay = (dir: string) => {
      writeFileSync(join(dir, 'file'), '');
      return join(dir, 'file', 'spool');
    };
    try {
      await withRelay(
        ['--reverse', `${framework.url}/onebot/v11/ws`],
        async ({ fake, relay }) => {
          const client = await TestClient.connect(relay.wsUrl);
          try {
            await waitFor(() => fake.sockets.size > 0, 'the relay to connect');
            const sent = fake.emit(300).map((t) => JSON.parse(t).message_id as number);
            await waitFor(() => messageIds(client.parsed()).length === 300, 'the connected client to get all 300');
            await framework.restart();
            const received = () => framework.sockets.flatMap((s) => messageIds(framework.parsed(s)));
            await waitFor(() => received().length === 300, 'the reverse target to get the 300 kept in memory');
            assert.deepEqual(received(), sent);
            const warnings = relay.process.output().match(/spool folder .* cannot be written/g) ?? [];
            assert.equal(warnings.length, 1, relay.process.output());
          } finally {
            client.ws.close();
          }
        },
        fileInTheWay,
      );
    } finally {
      await framework.stop();
    }
  });
});
