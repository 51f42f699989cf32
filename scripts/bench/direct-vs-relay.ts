// Suite "relay": the same workloads measured "direct" (clients on the fake implementation) and "relay" (clients on
// the relay, the relay on the fake), in interleaved rounds, medians per mode.
//
// Layout: the fake implementation and every client run in this process, so event send and receive times come
// from one clock (performance.now). The relay runs in a child process, as it would in production, so it does not
// share an event loop with the clients. The relay mode therefore pays one extra hop and one extra process: that
// is the cost being measured.
import { performance } from 'node:perf_hooks';
import { FakeImplementation } from '../../test/fake-impl.ts';
import {
  BenchClient,
  type BenchContext,
  comparisonTable,
  eventText,
  median,
  ownCpu,
  pace,
  percentile,
  processCpu,
  QUICK,
  relayOutputText,
  reportTitle,
  SELF_ID,
  startRelayProcess,
  waitUntil,
} from './kit.ts';

const ROUNDS = QUICK ? 1 : 3;
const LATENCY = { rate: 1_000, seconds: QUICK ? 1 : 3, clients: 4 };
const FANOUT = { events: QUICK ? 2_000 : 20_000, clients: 8, batch: 500 };
const RTT = { calls: QUICK ? 200 : 2_000 };
const WARMUP = QUICK
  ? { latencyEvents: 200, fanoutEvents: 2_000, rttCalls: 100 }
  : { latencyEvents: 1_500, fanoutEvents: 20_000, rttCalls: 1_000 };

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

let runs = 0;
/** A marker unique to one workload run, as it appears in the event text (and as bytes, to search frames cheaply). */
function newMarker(what: string, mode: Mode): { text: string; bytes: Buffer } {
  const text = `"bench":"${what}-${mode}-${++runs}"`;
  return { text, bytes: Buffer.from(text) };
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

async function withClients<T>(target: Target, count: number, run: (clients: BenchClient[]) => Promise<T>): Promise<T> {
  await target.idle();
  const clients = await BenchClient.connectAll(Array.from({ length: count }, () => target.url));
  try {
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
    // Each event is stamped at the moment it is handed to the socket.
    await pace(LATENCY.rate, total, (n) => target.fake.broadcast(eventText(marker.text, n, performance.now())));
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

/** CPU time of this process and of the relay child so far, ms (NaN for the relay without /proc). */
let relayPid: number | undefined;
function cpuNow(): Cpu {
  const relay = relayPid === undefined ? { user: 0, system: 0 } : processCpu(relayPid);
  return { bench: ownCpu(), relay: relay.user + relay.system };
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
  lines.push(reportTitle('relay (direct vs relay)'));
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
  const side = (mode: Mode, key: (typeof rows)[number]['key']) => results[mode].map((r) => r[key]);
  lines.push(
    ...comparisonTable(
      'direct',
      'relay',
      rows.map((row) => ({ ...row, a: side('direct', row.key), b: side('relay', row.key) })),
    ),
  );
  const ratios = rows.map((row) => {
    const direct = median(side('direct', row.key));
    const relay = median(side('relay', row.key));
    const ratio = relay / direct;
    const meaning =
      row.better === 'lower'
        ? `relay adds ${fmt(relay - direct, row.digits)} ${row.unit}`
        : `relay delivers ${(ratio * 100).toFixed(0)}% of direct`;
    return `ratio ${row.name}: ${ratio.toFixed(2)}x relay/direct (${row.better} is better; ${meaning})`;
  });
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
  lines.push(relayOutputText(relayOutput));
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------------------------

/** Run the suite: one relay child on one fake, another fake for direct clients; report on stdout. */
export async function directVsRelay({ check, cleanups }: BenchContext): Promise<void> {
  const fakeDirect = await FakeImplementation.start({ selfId: SELF_ID });
  cleanups.push(() => fakeDirect.stop());
  const fakeRelayed = await FakeImplementation.start({ selfId: SELF_ID });
  cleanups.push(() => fakeRelayed.stop());
  const relay = await startRelayProcess([fakeRelayed.url]);
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
        await relay.idle();
        if (fakeRelayed.sockets.size !== 1)
          throw new Error(`the relay's upstream link is not the fake's only socket (${fakeRelayed.sockets.size})`);
      },
    },
  };

  process.stderr.write('bench relay: warming up both modes (not measured)\n');
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
      `bench relay: round ${i + 1}/${order.length} ${mode.padEnd(6)} latency p50 ${result.latencyP50.toFixed(3)} p99 ${result.latencyP99.toFixed(3)} ms, ` +
        `fan-out ${result.fanoutRate.toFixed(0)} ev/s, rtt p50 ${result.rttP50.toFixed(3)} p99 ${result.rttP99.toFixed(3)} ms, ` +
        `relay CPU ${result.cpu.latency.relay.toFixed(0)}/${result.cpu.fanout.relay.toFixed(0)}/${result.cpu.rtt.relay.toFixed(0)} ms (${((performance.now() - t) / 1000).toFixed(1)} s)\n`,
    );
    check();
  }
  report(results, order, relay.output);
}
