// Benchmark: the same workloads measured "direct" (clients on the fake implementation) and "relay" (clients on
// the relay, the relay on the fake), in interleaved rounds, medians per mode.
//
// Layout: the fake implementation and every client run in this process, so event send and receive times come
// from one clock (performance.now). The relay runs in a child process, as it would in production, so it does not
// share an event loop with the clients. The relay mode therefore pays one extra hop and one extra process: that
// is the cost being measured.
//
// Run: npm run bench (about 40 s on 2 cores). BENCH_RELAY_NODE_ARGS passes node flags to the relay child,
// e.g. BENCH_RELAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/relay-prof" to profile the relay under this load.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { FakeImplementation } from '../test/fake-impl.ts';

const ROUNDS = 3;
const LATENCY = { rate: 1_000, seconds: 3, clients: 4 };
const FANOUT = { events: 20_000, clients: 8, batch: 500 };
const RTT = { calls: 2_000 };
const WARMUP = { latencyEvents: 1_500, fanoutEvents: 20_000, rttCalls: 1_000 };

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF_ID = 10001;

type Mode = 'direct' | 'relay';

interface Target {
  mode: Mode;
  /** Where clients connect. */
  url: string;
  /** The fake implementation this mode's clients are (directly or indirectly) fed by. */
  fake: FakeImplementation;
  /** Wait until no bench client is connected any more (so rounds do not overlap). */
  idle(): Promise<void>;
}

/** CPU time used during one workload, ms: this process, and the relay child (idle in direct rounds). */
interface Cpu {
  bench: number;
  relay: number;
}

interface RoundResult {
  latencyP50: number;
  latencyP99: number;
  fanoutRate: number;
  rttP50: number;
  rttP99: number;
  /** CPU of both processes over the whole round, ms. */
  cpuTotal: number;
  cpu: { latency: Cpu; fanout: Cpu; rtt: Cpu };
}

// ---------------------------------------------------------------------------------------------------------------
// Small tools

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean, what: string, timeout: number): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Ports the OS considers free right now: listen on 0, note the port, close. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A group message event shaped like the fake's emit() (~330 bytes), tagged with a run marker and its send time. */
function eventText(marker: string, n: number, sentAt: number): string {
  return `{"time":${Math.floor(Date.now() / 1000)},"self_id":${SELF_ID},"post_type":"message","message_type":"group","sub_type":"normal","message_id":${n},"group_id":123456,"user_id":654321,"message":[{"type":"text","data":{"text":"event ${n} \\u4f60\\u597d 你好"}}],"raw_message":"event ${n}","font":0,"seq":${n},"sender":{"user_id":654321,"nickname":"tester"},${marker},"bench_t":${sentAt.toFixed(4)}}`;
}

let runs = 0;
/** A marker unique to one workload run, as it appears in the event text (and as bytes, to search frames cheaply). */
function newMarker(what: string, mode: Mode): { text: string; bytes: Buffer } {
  const text = `"bench":"${what}-${mode}-${++runs}"`;
  return { text, bytes: Buffer.from(text) };
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

class BenchClient {
  /** Called for every frame, with the time it arrived. */
  onFrame: (data: Buffer, at: number) => void = () => {};

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const at = performance.now();
      this.onFrame(data as Buffer, at);
    });
    ws.on('error', () => {});
  }

  /** Connect and wait for the lifecycle connect event (direct: sent on accept; relay: sent once the session is live). */
  static connect(url: string, timeout = 5_000): Promise<BenchClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new BenchClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`client on ${url}: no lifecycle event within ${timeout} ms`));
      }, timeout);
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`client on ${url}: closed with ${code} before the lifecycle event`));
      });
      client.onFrame = (data) => {
        if (!data.includes('"lifecycle"')) return;
        clearTimeout(timer);
        ws.removeAllListeners('close');
        client.onFrame = () => {};
        resolve(client);
      };
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

async function withClients<T>(target: Target, count: number, run: (clients: BenchClient[]) => Promise<T>): Promise<T> {
  await target.idle();
  const settled = await Promise.allSettled(Array.from({ length: count }, () => BenchClient.connect(target.url)));
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return await run(clients);
  } finally {
    for (const client of clients) client.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads

/** Events at a steady rate to every client; latency = receive time - send time carried in the event. */
async function latency(target: Target, total: number): Promise<{ p50: number; p99: number }> {
  return withClients(target, LATENCY.clients, async (clients) => {
    const marker = newMarker('latency', target.mode);
    const samples: number[] = [];
    const received = clients.map(() => 0);
    clients.forEach((client, i) => {
      client.onFrame = (data, at) => {
        if (!data.includes(marker.bytes)) return;
        const event = JSON.parse(data.toString()) as { bench_t: number };
        samples.push(at - event.bench_t);
        received[i]!++;
      };
    });
    // Paced by elapsed time (a 1 ms timer fires every ~1 ms, so usually one event per tick); each event is stamped
    // at the moment it is handed to the socket.
    const start = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - start) * LATENCY.rate) / 1000) + 1);
        while (sent < due) {
          sent++;
          target.fake.broadcast(eventText(marker.text, sent, performance.now()));
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    await waitUntil(() => received.every((n) => n === total), `${total} events at each of ${clients.length} clients`, 10_000).catch(
      (err: Error) => {
        throw new Error(`${target.mode}: ${err.message}; got ${received.join(', ')}`);
      },
    );
    samples.sort((a, b) => a - b);
    return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  });
}

/** N events sent as fast as possible (in batches that let this process also read); events/s until all clients have all. */
async function fanout(target: Target, total: number): Promise<number> {
  return withClients(target, FANOUT.clients, async (clients) => {
    const marker = newMarker('fanout', target.mode);
    const received = clients.map(() => 0);
    let lastAt = 0;
    clients.forEach((client, i) => {
      client.onFrame = (data, at) => {
        if (!data.includes(marker.bytes)) return;
        if (++received[i]! === total) lastAt = Math.max(lastAt, at);
      };
    });
    // Texts made before the clock starts: the measurement is delivery, not string building.
    const texts = Array.from({ length: total }, (_, i) => eventText(marker.text, i + 1, 0));
    const start = performance.now();
    for (let i = 0; i < total; i += FANOUT.batch) {
      for (let j = i; j < Math.min(total, i + FANOUT.batch); j++) target.fake.broadcast(texts[j]!);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await waitUntil(() => received.every((n) => n === total), `${total} events at each of ${clients.length} clients`, 30_000).catch(
      (err: Error) => {
        throw new Error(`${target.mode}: ${err.message}; got ${received.join(', ')}`);
      },
    );
    return total / ((lastAt - start) / 1000);
  });
}

/** One client, sequential send_group_msg calls; round trip = reply time - send time. */
async function roundTrip(target: Target, calls: number): Promise<{ p50: number; p99: number }> {
  return withClients(target, 1, async ([client]) => {
    const ws = client!.ws;
    const times: number[] = [];
    let waiting: { echo: string; resolve: (at: number) => void; reject: (err: Error) => void } | undefined;
    client!.onFrame = (data, at) => {
      if (!waiting) return;
      const frame = JSON.parse(data.toString()) as { echo?: unknown; status?: string };
      if (frame.echo !== waiting.echo) return;
      const { resolve, reject } = waiting;
      waiting = undefined;
      if (frame.status === 'ok') resolve(at);
      else reject(new Error(`call failed: ${data.toString()}`));
    };
    for (let i = 0; i < calls; i++) {
      const echo = `rtt-${target.mode}-${i}`;
      const text = JSON.stringify({
        action: 'send_group_msg',
        params: { group_id: 123456, message: [{ type: 'text', data: { text: `hello ${i}` } }] },
        echo,
      });
      let timer: NodeJS.Timeout | undefined;
      const replied = new Promise<number>((resolve, reject) => {
        waiting = { echo, resolve, reject };
        timer = setTimeout(() => reject(new Error(`${target.mode}: no reply to call ${i} within 5 s`)), 5_000);
      }).finally(() => clearTimeout(timer));
      const sentAt = performance.now();
      ws.send(text);
      times.push((await replied) - sentAt);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  });
}

/** CPU time of this process and of the relay child so far, ms (the child's from /proc; 0 where there is none). */
let relayPid: number | undefined;
function cpuNow(): Cpu {
  const own = process.cpuUsage();
  let relay = 0;
  if (relayPid !== undefined) {
    try {
      // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them, in clock ticks.
      const stat = readFileSync(`/proc/${relayPid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      relay = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      relay = NaN; // no /proc (not Linux): reported as n/a
    }
  }
  return { bench: (own.user + own.system) / 1000, relay };
}

async function measured<T>(work: () => Promise<T>): Promise<[T, Cpu]> {
  const before = cpuNow();
  const result = await work();
  const after = cpuNow();
  return [result, { bench: after.bench - before.bench, relay: after.relay - before.relay }];
}

async function round(target: Target): Promise<RoundResult> {
  const [lat, latCpu] = await measured(() => latency(target, LATENCY.rate * LATENCY.seconds));
  const [rate, fanCpu] = await measured(() => fanout(target, FANOUT.events));
  const [rtt, rttCpu] = await measured(() => roundTrip(target, RTT.calls));
  const cpu = { latency: latCpu, fanout: fanCpu, rtt: rttCpu };
  const cpuTotal = Object.values(cpu).reduce((sum, c) => sum + c.bench + (Number.isNaN(c.relay) ? 0 : c.relay), 0);
  return { latencyP50: lat.p50, latencyP99: lat.p99, fanoutRate: rate, rttP50: rtt.p50, rttP99: rtt.p99, cpuTotal, cpu };
}

// ---------------------------------------------------------------------------------------------------------------
// The relay in a child process

interface RelayProcess {
  pid: number;
  url: string;
  output: string[];
  health(): Promise<{ status: string; self_id: unknown; clients: number }>;
  stop(): Promise<void>;
}

async function startRelayProcess(upstream: string): Promise<RelayProcess> {
  const [wsPort, adminPort] = await freePorts(2);
  // BENCH_RELAY_NODE_ARGS adds node flags for the relay child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/relay-prof".
  const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = [
    ...nodeArgs,
    '--import',
    'tsx',
    'src/main.ts',
    '--upstream',
    upstream,
    '--ws',
    `127.0.0.1:${wsPort}`,
    '--admin',
    `127.0.0.1:${adminPort}`,
    '--log-level',
    'warn',
    // The round-trip workload sends to one group as fast as it can: it measures the relay, not the send limits.
    '--send-limit-account',
    'off',
    '--send-limit-group',
    'off',
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) =>
    output.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim() !== ''),
    );
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  // Never leave the child behind, whatever happens to this process.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
    return (await res.json()) as { status: string; self_id: unknown; clients: number };
  };
  const stop = async () => {
    process.off('exit', killOnExit);
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exit;
    clearTimeout(timer);
  };

  const start = performance.now();
  for (;;) {
    if (exited) throw new Error(`relay exited during startup (code ${exited.code}, signal ${exited.signal}):\n${output.join('\n')}`);
    try {
      const h = await health();
      if (h.status === 'up' && h.self_id !== null) break;
    } catch {
      // Not listening yet.
    }
    if (performance.now() - start > 20_000) {
      await stop();
      throw new Error(`relay not up within 20 s:\n${output.join('\n')}`);
    }
    await sleep(50);
  }
  return { pid: child.pid!, url: `ws://127.0.0.1:${wsPort}/`, output, health, stop };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function report(results: Record<Mode, RoundResult[]>, order: Mode[], relayOutput: string[]): void {
  const rows: { name: string; key: Exclude<keyof RoundResult, 'cpu'>; unit: string; better: 'lower' | 'higher'; digits: number }[] = [
    { name: `event latency p50 @${LATENCY.rate}/s x${LATENCY.clients}`, key: 'latencyP50', unit: 'ms', better: 'lower', digits: 3 },
    { name: `event latency p99 @${LATENCY.rate}/s x${LATENCY.clients}`, key: 'latencyP99', unit: 'ms', better: 'lower', digits: 3 },
    { name: `fan-out throughput x${FANOUT.clients}`, key: 'fanoutRate', unit: 'ev/s', better: 'higher', digits: 0 },
    { name: 'API round trip p50', key: 'rttP50', unit: 'ms', better: 'lower', digits: 3 },
    { name: 'API round trip p99', key: 'rttP99', unit: 'ms', better: 'lower', digits: 3 },
    { name: 'CPU per round, all processes', key: 'cpuTotal', unit: 'ms', better: 'lower', digits: 0 },
  ];
  const fmt = (value: number, digits: number) => value.toFixed(digits);
  const lines: string[] = [];
  lines.push('');
  lines.push(`onebot-relay bench: node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model.trim() ?? '?'})`);
  lines.push(
    'layout: fake implementation + clients in this process; relay in a child process (node --import tsx src/main.ts, --log-level warn, default settings)',
  );
  lines.push('        direct = client <- fake (1 hop); relay = client <- relay <- fake (2 hops, 1 more process); 127.0.0.1 only');
  lines.push(
    `workloads: ${LATENCY.rate} ev/s for ${LATENCY.seconds} s to ${LATENCY.clients} clients; ${FANOUT.events} events (~330 B) as fast as possible to ${FANOUT.clients} clients; ${RTT.calls} sequential send_group_msg from 1 client`,
  );
  lines.push(
    `rounds: ${order.map((m) => (m === 'direct' ? 'D' : 'R')).join(' ')} (interleaved), after one warm-up per mode; values are medians of ${ROUNDS} rounds`,
  );
  lines.push('');
  const header = [
    'metric'.padEnd(36),
    'unit'.padEnd(5),
    'direct'.padStart(10),
    'relay'.padStart(10),
    'relay/direct'.padStart(13),
    '  rounds direct | relay',
  ];
  lines.push(header.join(' '));
  lines.push('-'.repeat(header.join(' ').length + 20));
  const ratios: string[] = [];
  for (const row of rows) {
    const direct = median(results.direct.map((r) => r[row.key]));
    const relay = median(results.relay.map((r) => r[row.key]));
    const ratio = relay / direct;
    const per = (mode: Mode) => results[mode].map((r) => fmt(r[row.key], row.digits)).join(' ');
    lines.push(
      [
        row.name.padEnd(36),
        row.unit.padEnd(5),
        fmt(direct, row.digits).padStart(10),
        fmt(relay, row.digits).padStart(10),
        `${ratio.toFixed(2)}x`.padStart(13),
        `  ${per('direct')} | ${per('relay')}`,
      ].join(' '),
    );
    const meaning =
      row.better === 'lower'
        ? `relay adds ${fmt(relay - direct, row.digits)} ${row.unit}`
        : `relay delivers ${(ratio * 100).toFixed(0)}% of direct`;
    ratios.push(`ratio ${row.name}: ${ratio.toFixed(2)}x relay/direct (${row.better} is better; ${meaning})`);
  }
  lines.push('');
  lines.push(...ratios);
  // Where the relay's own CPU goes, per delivered frame (relay rounds only).
  const relayCpu = (key: keyof RoundResult['cpu']) => median(results.relay.map((r) => r.cpu[key].relay));
  const benchCpu = (mode: Mode, key: keyof RoundResult['cpu']) => median(results[mode].map((r) => r.cpu[key].bench));
  const perItem = (ms: number, items: number) =>
    Number.isNaN(ms) ? 'n/a' : `${ms.toFixed(0)} ms, ${((ms * 1000) / items).toFixed(1)} us each`;
  lines.push('');
  const fanoutWall = (FANOUT.events / median(results.relay.map((r) => r.fanoutRate))) * 1000;
  lines.push(
    `relay child CPU (medians, 10 ms resolution): latency ${perItem(relayCpu('latency'), LATENCY.rate * LATENCY.seconds * LATENCY.clients)} delivery; ` +
      `fan-out ${perItem(relayCpu('fanout'), FANOUT.events * FANOUT.clients)} delivery (relay busy ~${((relayCpu('fanout') / fanoutWall) * 100).toFixed(0)}% of the fan-out's wall time); ` +
      `round trips ${perItem(relayCpu('rtt'), RTT.calls)} call`,
  );
  lines.push(
    `bench process CPU (fake + clients), direct | relay: latency ${benchCpu('direct', 'latency').toFixed(0)} | ${benchCpu('relay', 'latency').toFixed(0)} ms; ` +
      `fan-out ${benchCpu('direct', 'fanout').toFixed(0)} | ${benchCpu('relay', 'fanout').toFixed(0)} ms; round trips ${benchCpu('direct', 'rtt').toFixed(0)} | ${benchCpu('relay', 'rtt').toFixed(0)} ms`,
  );
  lines.push('');
  lines.push(
    relayOutput.length
      ? `relay child output (${relayOutput.length} lines):\n  ${relayOutput.join('\n  ')}`
      : 'relay child output: none (no warnings)',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  let interrupted = false;
  const onSignal = () => {
    // First signal: stop after the current workload and clean up. Second: exit now (the child is killed on exit).
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('bench: interrupted; stopping after the current workload (again to exit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const started = performance.now();
    const fakeDirect = await FakeImplementation.start({ selfId: SELF_ID });
    cleanups.push(() => fakeDirect.stop());
    const fakeRelayed = await FakeImplementation.start({ selfId: SELF_ID });
    cleanups.push(() => fakeRelayed.stop());
    const relay = await startRelayProcess(fakeRelayed.url);
    cleanups.push(() => relay.stop());
    relayPid = relay.pid;

    const targets: Record<Mode, Target> = {
      direct: {
        mode: 'direct',
        url: fakeDirect.url,
        fake: fakeDirect,
        idle: () => waitUntil(() => fakeDirect.sockets.size === 0, 'direct clients to disconnect', 5_000),
      },
      relay: {
        mode: 'relay',
        url: relay.url,
        fake: fakeRelayed,
        idle: async () => {
          const start = performance.now();
          while ((await relay.health()).clients !== 0) {
            if (performance.now() - start > 5_000) throw new Error('relay clients did not disconnect within 5 s');
            await sleep(5);
          }
          if (fakeRelayed.sockets.size !== 1)
            throw new Error(`the relay's upstream link is not the fake's only socket (${fakeRelayed.sockets.size})`);
        },
      },
    };
    const check = () => {
      if (interrupted) throw new Error('interrupted');
    };

    process.stderr.write('bench: warming up both modes (not measured)\n');
    for (const mode of ['direct', 'relay'] as const) {
      await latency(targets[mode], WARMUP.latencyEvents);
      await fanout(targets[mode], WARMUP.fanoutEvents);
      await roundTrip(targets[mode], WARMUP.rttCalls);
      check();
    }

    const order: Mode[] = [];
    for (let i = 0; i < ROUNDS; i++) order.push('direct', 'relay');
    const results: Record<Mode, RoundResult[]> = { direct: [], relay: [] };
    for (const [i, mode] of order.entries()) {
      const t = performance.now();
      const result = await round(targets[mode]);
      results[mode].push(result);
      process.stderr.write(
        `bench: round ${i + 1}/${order.length} ${mode.padEnd(6)} latency p50 ${result.latencyP50.toFixed(3)} p99 ${result.latencyP99.toFixed(3)} ms, ` +
          `fan-out ${result.fanoutRate.toFixed(0)} ev/s, rtt p50 ${result.rttP50.toFixed(3)} p99 ${result.rttP99.toFixed(3)} ms, ` +
          `relay CPU ${result.cpu.latency.relay.toFixed(0)}/${result.cpu.fanout.relay.toFixed(0)}/${result.cpu.rtt.relay.toFixed(0)} ms (${((performance.now() - t) / 1000).toFixed(1)} s)\n`,
      );
      check();
    }
    report(results, order, relay.output);
    process.stdout.write(`total time ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err: Error) => process.stderr.write(`bench: cleanup failed: ${err.message}\n`));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main()
  .catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    // Everything is closed by now, so the process exits on its own; this only guards against a forgotten handle.
    setTimeout(() => {
      process.stderr.write('bench: something kept the process alive after cleanup; exiting\n');
      process.exit(process.exitCode ?? 0);
    }, 3_000).unref();
  });
