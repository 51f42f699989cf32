// Soak: N minutes of traffic through a relay (a child process with a spool) to every kind of target, with
// random faults: the implementation killed or frozen, a reverse target, a POST target and a named WebSocket
// client killed and restarted, the relay itself SIGKILLed and restarted. At the end: per client, events sent,
// delivered, lost and duplicated, and the relay's RSS over time.
//
// Run: npm run soak -- [MINUTES] [EVENTS_PER_S]   (defaults: 5 minutes, 200 events/s). Not part of CI.
// Faults that take a kept target or the relay away happen in a quiet moment (the stream paused until every kept
// target has caught up), so that they test keeping and replaying; frames in flight at the instant a peer dies are at most once by design and
// have their own cases in test/faults/. The anonymous client gets live events only: it misses what passes while
// it is away, which is counted, not a fault.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeFramework, FakeWebhook } from '../test/fake-framework.ts';
import { FakeImplementation } from '../test/fake-impl.ts';
import { freePort, type RelayProcess, runRelay, TestClient, waitFor } from '../test/helpers.ts';

const minutes = Number(process.argv[2] ?? 5);
const rate = Number(process.argv[3] ?? 200);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;
const messageIds = (frames: Record<string, any>[]) => frames.filter((f) => f.post_type === 'message').map((f) => f.message_id as number);

const dir = mkdtempSync(join(tmpdir(), 'soak-'));
const implPort = await freePort();
const wsAddress = `127.0.0.1:${await freePort()}`;
const admin = `127.0.0.1:${await freePort()}`;
const fake = await FakeImplementation.start({ port: implPort, heartbeat: 1000 });
const framework = await FakeFramework.start();
const hook = await FakeWebhook.start();
const args = [
  ...['--upstream', fake.url, '--ws', wsAddress, '--admin', admin, '--spool', join(dir, 'spool')],
  ...['--reverse', `${framework.url}/onebot/v11/ws`, '--post', hook.url, '--reconnect-max', '500'],
];
let relay: RelayProcess = runRelay(args);

/** A WebSocket client that reconnects whenever it is closed, unless told to stay away. */
class Client {
  /** Every socket it had, oldest first: each records its frames from its first byte on. */
  private readonly sockets: TestClient[] = [];
  away = false;
  constructor(private readonly url: string) {}
  async keepConnected(): Promise<void> {
    for (;;) {
      const socket = this.sockets.at(-1);
      if (!this.away && (!socket || socket.ws.readyState > 1)) {
        try {
          this.sockets.push(await TestClient.connect(this.url));
        } catch {}
      }
      await sleep(100);
    }
  }
  frames(): Record<string, any>[] {
    return this.sockets.flatMap((s) => s.parsed());
  }
  close(): void {
    this.sockets.at(-1)?.ws.terminate();
  }
}
const named = new Client(`ws://${wsAddress}/?client=soak`);
const live = new Client(`ws://${wsAddress}/`);

/** What each target the relay keeps events for has received. */
const kept = {
  'reverse target (kept)': () => framework.sockets.flatMap((s) => messageIds(framework.parsed(s))),
  'POST target (kept)': () => messageIds(hook.events()),
  'named WS client (kept)': () => messageIds(named.frames()),
};
const sent: number[] = [];
let paused = false;
let frozen = false;
let running = true;
const rss: [number, number][] = [];
const started = Date.now();
const faults = new Map<string, number>();

async function relayRss(): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${admin}/metrics`)).text();
    return Number(/^onebot_relay_process_resident_memory_bytes (\d+)/m.exec(text)?.[1]);
  } catch {
    return undefined;
  }
}

async function stream(): Promise<void> {
  const perTick = Math.max(1, Math.round(rate / 20));
  while (running) {
    if (!paused && !frozen) {
      const open = [...fake.sockets].some((ws) => ws.readyState === ws.OPEN);
      const texts = fake.emit(perTick);
      if (open) sent.push(...texts.map((t) => JSON.parse(t).message_id as number));
    }
    await sleep(50);
  }
}

/** Pause the stream until every kept target has what was sent (so that nothing is in flight to it). */
async function quiet<T>(fault: () => Promise<T>): Promise<T> {
  paused = true;
  await sleep(100);
  const last = sent.at(-1);
  const caughtUp = () => last === undefined || Object.values(kept).every((got) => got().includes(last));
  await waitFor(caughtUp, 'the kept targets to catch up before a fault', 30_000).catch((err: Error) => console.log(err.message));
  try {
    return await fault();
  } finally {
    paused = false;
  }
}

const FAULTS: Record<string, () => Promise<void>> = {
  'implementation killed': async () => {
    await fake.kill();
    await sleep(1000);
    await fake.restart();
  },
  'implementation frozen': async () => {
    frozen = true;
    fake.freeze();
    await sleep(1500);
    await fake.kill(); // a frozen process is killed and started again
    await fake.restart();
    frozen = false;
  },
  'reverse target restarted': () =>
    quiet(async () => {
      await framework.stop();
      await sleep(500 + Math.random() * 2000);
      await framework.restart();
    }),
  'POST target restarted': () =>
    quiet(async () => {
      await hook.stop();
      await sleep(500 + Math.random() * 2000);
      await hook.restart();
    }),
  'named client restarted': () =>
    quiet(async () => {
      named.away = true;
      named.close();
      await sleep(500 + Math.random() * 2000);
      named.away = false;
    }),
  'anonymous client restarted': async () => {
    live.away = true;
    live.close();
    await sleep(500 + Math.random() * 2000);
    live.away = false;
  },
  'relay SIGKILLed': () =>
    quiet(async () => {
      relay.child.kill('SIGKILL');
      await relay.exited;
      relay = runRelay(args);
      await waitFor(() => /stop with Ctrl\+C/.test(relay.output()) || relay.child.exitCode !== null, 'the relay to start', 20_000);
    }),
};

await waitFor(() => /stop with Ctrl\+C/.test(relay.output()), 'the relay to start', 20_000);
void named.keepConnected();
void live.keepConnected();
await waitFor(() => framework.open().length > 0 && named.frames().length > 0, 'the targets to connect', 20_000);
const streaming = stream();
const sampler = setInterval(async () => {
  const bytes = await relayRss();
  if (bytes) rss.push([Math.round((Date.now() - started) / 1000), bytes]);
}, 15_000);
console.log(`soak: ${minutes} min at ${rate} events/s; spool in ${dir}`);
while (Date.now() - started < minutes * 60_000) {
  await sleep(5000 + Math.random() * 10_000);
  const name = pick(Object.keys(FAULTS));
  faults.set(name, (faults.get(name) ?? 0) + 1);
  console.log(`${Math.round((Date.now() - started) / 1000)} s: ${name}`);
  await FAULTS[name]!();
}
running = false;
await streaming;
clearInterval(sampler);

const received = { ...kept, 'anonymous WS client (live only)': () => messageIds(live.frames()) };
const last = sent.at(-1)!;
await waitFor(() => Object.values(kept).every((got) => got().includes(last)), 'the kept targets to catch up', 120_000).catch((err: Error) =>
  console.log(err.message),
);
console.log(`\nfaults: ${[...faults].map(([name, n]) => `${name} ${n}`).join(', ')}`);
console.log('| client | sent | delivered | lost | duplicated | in order |');
console.log('| --- | --- | --- | --- | --- | --- |');
const lostOf: string[] = [];
for (const [name, got] of Object.entries(received)) {
  const ids = got();
  const have = new Set(ids);
  const lost = sent.filter((n) => !have.has(n));
  const ordered = ids.every((n, i) => i === 0 || n > ids[i - 1]!);
  console.log(
    `| ${name} | ${sent.length} | ${sent.length - lost.length} | ${lost.length} | ${ids.length - have.size} | ${ordered ? 'yes' : 'no'} |`,
  );
  if (lost.length && name in kept) lostOf.push(`${name} lost ${lost.slice(0, 20).join(' ')}${lost.length > 20 ? ' ...' : ''}`);
}
if (lostOf.length) console.log(`\n${lostOf.join('\n')}`);
console.log(`\nrelay RSS (MiB) every 15 s: ${rss.map(([, b]) => Math.round(b / 1048576)).join(' ')}`);

relay.child.kill('SIGKILL');
await Promise.all([framework.stop(), hook.stop(), fake.stop()]);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
