// Suite "proxy" (issue 14): the same OneBot workloads over four paths, in interleaved rounds, medians per path:
//   direct  clients straight on a source, which serialises each event once and writes it to all of its clients
//   nginx   clients on nginx as a WebSocket proxy, one upstream connection to a source per client
//   floor   clients on floor.ts: the least a Node relay does (frames passed on untouched), on the executable's Node
//   relay   clients on the relay (its executable), which has one link to a source
// Each path has a source of its own (source.ts, a child process), so that a round loads its own path only. The
// clients run in this process; sources stamp events with the machine's monotonic clock, which clients read too.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { WebSocket } from 'ws';
import { benchEvent, clockMs, markerBytes, pace, stampOf } from './events.ts';
import {
  BenchClient,
  type BenchContext,
  childrenOf,
  comparisonTable,
  freePorts,
  median,
  processesCpu,
  processRss,
  QUICK,
  type RelayProcess,
  relayCommand,
  relayConfigFile,
  relayOutputText,
  reportTitle,
  spawnRelay,
  spread,
  startRelayProcess,
  stopChild,
  waitUntil,
  withClients,
} from './kit.ts';
import { ensureNginx, type NginxProcess, spawnNginx, startNginx } from './nginx.ts';
import { benchScript, childNode, type SourceProcess, startFloor, startSource } from './source-process.ts';

const ROUNDS = QUICK ? 1 : 3;
const SELF_ID = 10001;
const MB = 1024 * 1024;
const FANOUT = { clients: 8, events: QUICK ? 2_000 : 20_000, batch: 500 };
const LATENCY = { clients: 4, rate: 1_000, seconds: QUICK ? 1 : 3 };
const RTT = { rate: 2_000, calls: QUICK ? 400 : 4_000 };
/** Round trips at a bot's pace: each call finds the processes idle and their caches cold. */
const RTT_IDLE = { rate: 200, calls: QUICK ? 40 : 400 };
const IDLE = { clients: QUICK ? 100 : 1_000, settleMs: QUICK ? 500 : 2_000 };
const LARGE = { clients: 4, bytes: 4 * MB, each: QUICK ? 1 : 5, smallRate: 1_000, pauseMs: 50 };
const POST = { clients: 4, events: QUICK ? 200 : 2_000, bytes: 8 * 1024 };

type PathName = 'direct' | 'nginx' | 'floor' | 'relay';

interface Path {
  name: PathName;
  /** Where WebSocket clients connect. */
  url: string;
  /** The source that feeds it. */
  source: SourceProcess;
  /** The process(es) between the clients and the implementation, whose CPU and memory count (direct: the source itself). */
  pids(): number[];
  /** Wait until no bench client is left on it. */
  idle(): Promise<void>;
  /** The event POST workload: where the poster posts, where its clients connect, whose CPU counts. */
  post: { url: string; wsUrl: string; pids(): number[]; idle(): Promise<void> };
}

interface RoundResult {
  fanout: number;
  latency: { p50: number; p99: number };
  rtt: { p50: number; p99: number };
  rttIdle: { p50: number; p99: number };
  large: { call: number; event: number; smallDuringCalls: number; smallDuringEvents: number };
  post: { rate: number; answer: { p50: number; p99: number }; deliveredMs: number };
  /** CPU of the path's middle process(es) per workload, ms. */
  cpu: { fanout: number; latency: number; rtt: number; post: number };
  /** A new process of the path, measured after the rounds (one per round). */
  fresh?: Fresh;
}

async function measured<T>(pids: () => number[], work: () => Promise<T>): Promise<[T, number]> {
  const before = processesCpu(pids());
  const result = await work();
  return [result, processesCpu(pids()) - before];
}

let runs = 0;
const newMarker = (what: string, path: Path) => `${what}-${path.name}-${++runs}`;

/** Wait until every count has reached `total`; the error says who got what. */
function allGot(path: Path, counts: number[], total: number, timeout = 15_000): Promise<void> {
  return waitUntil(() => counts.every((n) => n >= total), `${total} events at each of ${counts.length} clients`, timeout).catch(
    (err: Error) => {
      throw new Error(`${path.name}: ${err.message}; got ${counts.join(', ')}`);
    },
  );
}

/**
 * Count each client's frames of the run `marker` (`received`), and tell `latency` how long each took from its send
 * stamp; `last()`: when the last client got its `total`-th.
 */
function arrivals(clients: BenchClient[], marker: string, total: number, latency: (ms: number) => void = () => {}) {
  const bytes = markerBytes(marker);
  const received = clients.map(() => 0);
  let last = 0;
  clients.forEach((client, i) => {
    client.onFrame = (data, at) => {
      const sent = stampOf(data, bytes);
      if (sent === undefined) return;
      latency(at - sent);
      if (++received[i]! === total) last = Math.max(last, at);
    };
  });
  return { received, last: () => last };
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads

/** Events at a steady rate to every client; latency = arrival - the source's send stamp. */
async function latency(path: Path, total: number): Promise<{ p50: number; p99: number }> {
  return withClients(
    path.idle,
    Array.from({ length: LATENCY.clients }, () => path.url),
    async (clients) => {
      const marker = newMarker('latency', path);
      const samples: number[] = [];
      const { received } = arrivals(clients, marker, total, (ms) => samples.push(ms));
      await path.source.command({ cmd: 'pace', marker, rate: LATENCY.rate, total });
      await allGot(path, received, total);
      return spread(samples);
    },
  );
}

/** The source writes `total` events as fast as it can; events/s at each client until all clients have all. */
async function fanout(path: Path, total: number): Promise<number> {
  return withClients(
    path.idle,
    Array.from({ length: FANOUT.clients }, () => path.url),
    async (clients) => {
      const marker = newMarker('fanout', path);
      const { received, last } = arrivals(clients, marker, total);
      const start = clockMs();
      await path.source.command({ cmd: 'burst', marker, count: total, batch: FANOUT.batch });
      await allGot(path, received, total, 60_000);
      return total / ((last() - start) / 1000);
    },
  );
}

/** One client, send_group_msg calls at a steady rate (not waiting for answers); round trip = answer - send. */
async function roundTrip(path: Path, calls: number, rate = RTT.rate): Promise<{ p50: number; p99: number }> {
  return withClients(path.idle, [path.url], async ([client]) => {
    const sentAt = new Map<string, number>();
    const times: number[] = [];
    let failed: string | undefined;
    client!.onFrame = (data, at) => {
      if (!data.includes('"echo":"rtt-')) return;
      const frame = JSON.parse(data.toString()) as { echo: string; status?: string };
      if (frame.status !== 'ok') failed ??= data.toString();
      times.push(at - sentAt.get(frame.echo)!);
    };
    await pace(rate, calls, (n) => {
      const echo = `rtt-${n}`;
      const text = `{"action":"send_group_msg","params":{"group_id":123456,"message":[{"type":"text","data":{"text":"hello ${n}"}}]},"echo":"${echo}"}`;
      sentAt.set(echo, clockMs());
      client!.ws.send(text);
    });
    await waitUntil(() => times.length === calls || failed !== undefined, `${calls} answers`, 15_000);
    if (failed) throw new Error(`${path.name}: a call failed: ${failed.slice(0, 200)}`);
    return spread(times);
  });
}

/**
 * A WebSocket text frame as a client sends it (masked), made once: writing 4 MB through ws would mask it in
 * JavaScript in this process, stalling the other clients' measurements. `echo` is patched per call.
 */
function maskedFrame(text: string): { frame: Buffer; withEcho(echo: string): Buffer } {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(14);
  header[0] = 0x81; // FIN, text
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(payload.length), 2);
  const mask = randomBytes(4);
  mask.copy(header, 10);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  const frame = Buffer.concat([header, payload]);
  const echoAt = text.lastIndexOf('"echo":"') + 8;
  return {
    frame,
    withEcho(echo) {
      for (let j = 0; j < echo.length; j++) frame[14 + echoAt + j] = echo.charCodeAt(j) ^ mask[(echoAt + j) & 3]!;
      return frame;
    },
  };
}

/**
 * Client 0 sends LARGE.each send_group_msg calls with a 4 MB image, one at a time; then the source sends LARGE.each
 * 4 MB events, one at a time. All along, small events at 1,000/s, whose latency clients 1..3 measure.
 */
async function large(path: Path): Promise<RoundResult['large']> {
  return withClients(
    path.idle,
    Array.from({ length: LARGE.clients }, () => path.url),
    async ([caller, ...others]) => {
      const small = newMarker('small', path);
      const smallBytes = markerBytes(small);
      const big = newMarker('large', path);
      const bigBytes = markerBytes(big);
      let phase: 'calls' | 'events' = 'calls';
      const samples = { calls: [] as number[], events: [] as number[] };
      const smallReceived = others.map(() => 0);
      const bigReceived = [caller!, ...others].map(() => 0);
      others.forEach((client, i) => {
        client.onFrame = (data, at) => {
          if (data.length > MB) return void bigReceived[i + 1]!++;
          const sent = stampOf(data, smallBytes);
          if (sent === undefined) return;
          samples[phase].push(at - sent);
          smallReceived[i]!++;
        };
      });
      let answered: ((at: number) => void) | undefined;
      let bigArrived: ((at: number, sent: number) => void) | undefined;
      caller!.onFrame = (data, at) => {
        if (data.length > MB) {
          bigReceived[0]!++;
          bigArrived?.(at, stampOf(data, bigBytes)!);
        } else if (data.includes('"echo":"big-')) {
          if (!data.includes('"status":"ok"')) throw new Error(`${path.name}: a large call failed: ${data.toString().slice(0, 200)}`);
          answered?.(at);
        }
      };
      const image = 'A'.repeat(LARGE.bytes);
      const call = maskedFrame(
        `{"action":"send_group_msg","params":{"group_id":123456,"message":[{"type":"image","data":{"file":"base64://${image}"}}]},"echo":"big-00"}`,
      );
      const socket = (caller!.ws as unknown as { _socket: { write(data: Buffer): void } })._socket;
      const pacing = path.source.command({ cmd: 'pace', marker: small, rate: LARGE.smallRate, total: 1e9 });
      const pause = () => new Promise((resolve) => setTimeout(resolve, LARGE.pauseMs));
      await pause();
      const callTimes: number[] = [];
      for (let k = 0; k < LARGE.each; k++) {
        const echo = `big-${String(k).padStart(2, '0')}`;
        const done = new Promise<number>((resolve) => {
          answered = resolve;
        });
        const start = clockMs();
        socket.write(call.withEcho(echo));
        callTimes.push((await done) - start);
        await pause();
      }
      phase = 'events';
      const eventTimes: number[] = [];
      for (let k = 0; k < LARGE.each; k++) {
        const arrived = new Promise<number>((resolve) => {
          bigArrived = (at, sent) => resolve(at - sent);
        });
        await path.source.command({ cmd: 'large', marker: big, bytes: LARGE.bytes });
        eventTimes.push(await arrived);
        await allGot(path, bigReceived, k + 1);
        await pause();
      }
      await path.source.command({ cmd: 'stop' });
      const { sent } = (await pacing) as { sent: number };
      await allGot(path, smallReceived, sent);
      return {
        call: median(callTimes),
        event: median(eventTimes),
        smallDuringCalls: spread(samples.calls).p99,
        smallDuringEvents: spread(samples.events).p99,
      };
    },
  );
}

const postAgent = new Agent({ keepAlive: true, maxSockets: 1 });

function postOnce(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: postAgent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode! < 300 ? resolve(res.statusCode!) : reject(new Error(`POST ${url}: HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An implementation that reports over HTTP POST, one event at a time, each waiting for the answer; 4 clients attached. */
async function post(path: Path): Promise<RoundResult['post']> {
  return withClients(
    path.post.idle,
    Array.from({ length: POST.clients }, () => path.post.wsUrl),
    async (clients) => {
      const marker = newMarker('post', path);
      const { received, last } = arrivals(clients, marker, POST.events);
      const filler = 'x'.repeat(POST.bytes - benchEvent(SELF_ID, 0, marker, 0, '""').length - 2);
      const events = Array.from({ length: POST.events }, (_, i) => Buffer.from(benchEvent(SELF_ID, i + 1, marker, 0, `"${filler}"`)));
      const answers: number[] = [];
      const start = clockMs();
      for (const event of events) {
        const sent = clockMs();
        await postOnce(path.post.url, event);
        answers.push(clockMs() - sent);
      }
      const posted = clockMs() - start;
      await allGot(path, received, POST.events, 60_000);
      return { rate: POST.events / (posted / 1000), answer: spread(answers), deliveredMs: last() - start };
    },
  );
}

async function round(path: Path, scale = 1): Promise<RoundResult> {
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  const [lat, latCpu] = await measured(path.pids, () => latency(path, n(LATENCY.rate * LATENCY.seconds)));
  const [fan, fanCpu] = await measured(path.pids, () => fanout(path, n(FANOUT.events)));
  const [rtt, rttCpu] = await measured(path.pids, () => roundTrip(path, n(RTT.calls)));
  const rttIdle = await roundTrip(path, n(RTT_IDLE.calls), RTT_IDLE.rate);
  const big = await large(path);
  const [posted, postCpu] = await measured(path.post.pids, () => post(path));
  return {
    fanout: fan,
    latency: lat,
    rtt,
    rttIdle,
    large: big,
    post: posted,
    cpu: { fanout: fanCpu, latency: latCpu, rtt: rttCpu, post: postCpu },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Start to serving

/** A new process of a path: how soon it serves, then its memory with IDLE.clients idle clients. */
interface Fresh {
  /** From spawn to the first client's handshake done, ms. */
  start: number;
  /** Resident memory of its process(es) with IDLE.clients clients connected, and before they came, bytes; and the anonymous part. */
  rss: { idle: number; base: number; anon: number };
}

/** A new middle process: `spawnIt` starts it, `url` is where its clients connect. Tried every millisecond until it serves. */
async function fresh(spawnIt: () => { child: ChildProcess; cleanup?(): void }, url: string): Promise<Fresh> {
  const begin = clockMs();
  const { child, cleanup } = spawnIt();
  try {
    let start: number | undefined;
    while (start === undefined) {
      const opened = await new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.once('open', () => {
          resolve(true);
          ws.terminate();
        });
        ws.once('error', () => resolve(false));
      });
      if (opened) start = clockMs() - begin;
      else if (child.exitCode !== null) throw new Error(`${url}: the process exited before serving`);
      else if (clockMs() - begin > 20_000) throw new Error(`${url}: not serving within 20 s`);
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // nginx's work is done by its worker, a child of the one spawned.
    const pids = () => [child.pid!, ...childrenOf(child.pid!)];
    const rss = () =>
      pids()
        .map(processRss)
        .reduce((sum, one) => ({ total: sum.total + one.total, anon: sum.anon + one.anon }));
    const base = rss().total;
    const clients = await BenchClient.connectAll(Array.from({ length: IDLE.clients }, () => url));
    try {
      await new Promise((resolve) => setTimeout(resolve, IDLE.settleMs));
      const { total, anon } = rss();
      return { start, rss: { idle: total, base, anon } };
    } finally {
      for (const client of clients) client.close();
    }
  } finally {
    await stopChild(child);
    cleanup?.();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

interface Row {
  name: string;
  unit: string;
  digits: number;
  value: (r: RoundResult) => number;
  /**
   * The goal, and how it reads: `ratio` for relay/direct; `nginx`: relay/direct at or better than nginx/direct;
   * `absolute`: the relay's own value; `added`: the relay's value less direct's (the same frames pass both).
   */
  goal?: { better: 'lower' | 'higher'; ratio?: number; nginx?: boolean; absolute?: number; added?: number };
}

const ROWS: Row[] = [
  {
    name: `fan-out per client, x${FANOUT.clients}`,
    unit: 'ev/s',
    digits: 0,
    value: (r) => r.fanout,
    goal: { better: 'higher', ratio: 0.9, nginx: true },
  },
  {
    name: `event latency p50, ${LATENCY.rate}/s x${LATENCY.clients}`,
    unit: 'ms',
    digits: 3,
    value: (r) => r.latency.p50,
    goal: { better: 'lower', ratio: 1.3 },
  },
  {
    name: `event latency p99, ${LATENCY.rate}/s x${LATENCY.clients}`,
    unit: 'ms',
    digits: 3,
    value: (r) => r.latency.p99,
    goal: { better: 'lower', nginx: true },
  },
  { name: `API round trip p50, ${RTT.rate}/s`, unit: 'ms', digits: 3, value: (r) => r.rtt.p50, goal: { better: 'lower', ratio: 1.5 } },
  { name: `API round trip p99, ${RTT.rate}/s`, unit: 'ms', digits: 3, value: (r) => r.rtt.p99, goal: { better: 'lower', nginx: true } },
  { name: `API round trip p50, ${RTT_IDLE.rate}/s`, unit: 'ms', digits: 3, value: (r) => r.rttIdle.p50 },
  {
    name: `RSS, ${IDLE.clients} idle clients`,
    unit: 'MB',
    digits: 1,
    value: (r) => r.fresh!.rss.idle / MB,
    goal: { better: 'lower', ratio: 1.5 },
  },
  { name: '  of which anonymous (not the executable)', unit: 'MB', digits: 1, value: (r) => r.fresh!.rss.anon / MB },
  {
    name: '  per client (over the RSS before)',
    unit: 'KB',
    digits: 1,
    value: (r) => (r.fresh!.rss.idle - r.fresh!.rss.base) / 1024 / IDLE.clients,
  },
  {
    name: `${LARGE.bytes / MB} MB send_group_msg round trip`,
    unit: 'ms',
    digits: 2,
    value: (r) => r.large.call,
    goal: { better: 'lower', ratio: 1.5 },
  },
  {
    name: `${LARGE.bytes / MB} MB event latency`,
    unit: 'ms',
    digits: 2,
    value: (r) => r.large.event,
    goal: { better: 'lower', ratio: 1.5 },
  },
  {
    name: '  small events p99 meanwhile: calls',
    unit: 'ms',
    digits: 2,
    value: (r) => r.large.smallDuringCalls,
    goal: { better: 'lower', added: 5 },
  },
  {
    name: '  small events p99 meanwhile: events',
    unit: 'ms',
    digits: 2,
    value: (r) => r.large.smallDuringEvents,
    goal: { better: 'lower', added: 5 },
  },
  {
    name: `serial POSTs of ${POST.bytes / 1024} KiB, x${POST.clients}`,
    unit: 'ev/s',
    digits: 0,
    value: (r) => r.post.rate,
    goal: { better: 'higher', absolute: 2_000 },
  },
  { name: '  POST answered p50', unit: 'ms', digits: 3, value: (r) => r.post.answer.p50, goal: { better: 'lower', absolute: 0.5 } },
  { name: '  POST answered p99', unit: 'ms', digits: 3, value: (r) => r.post.answer.p99 },
  { name: '  all delivered after', unit: 'ms', digits: 0, value: (r) => r.post.deliveredMs },
  { name: 'CPU per fan-out delivery', unit: 'us', digits: 2, value: (r) => (r.cpu.fanout * 1000) / (FANOUT.events * FANOUT.clients) },
  {
    name: 'CPU per latency delivery',
    unit: 'us',
    digits: 2,
    value: (r) => (r.cpu.latency * 1000) / (LATENCY.rate * LATENCY.seconds * LATENCY.clients),
  },
  { name: 'CPU per API call', unit: 'us', digits: 2, value: (r) => (r.cpu.rtt * 1000) / RTT.calls },
  { name: 'CPU per POSTed event', unit: 'us', digits: 2, value: (r) => (r.cpu.post * 1000) / POST.events },
  {
    name: 'start to serving (a new process)',
    unit: 'ms',
    digits: 1,
    value: (r) => r.fresh!.start,
    goal: { better: 'lower', absolute: 150 },
  },
];

type Goal = NonNullable<Row['goal']>;

/** Whether `path`'s median meets the goal; nginx's own ratio is a goal for the other paths only. */
function meets(goal: Goal, path: PathName, medians: Record<PathName, number>): boolean {
  const value = medians[path];
  const ratio = value / medians.direct;
  const nginxRatio = medians.nginx / medians.direct;
  const ok = (v: number, limit: number) => (goal.better === 'lower' ? v <= limit : v >= limit);
  let met = true;
  if (goal.ratio !== undefined) met &&= ok(ratio, goal.ratio);
  if (goal.nginx && path !== 'nginx' && !Number.isNaN(nginxRatio)) met &&= ok(ratio, nginxRatio);
  if (goal.absolute !== undefined) met &&= ok(value, goal.absolute);
  if (goal.added !== undefined) met &&= value - medians.direct <= goal.added;
  return met;
}

/** `path`'s figure as its goal reads it. */
function figure(row: Row, goal: Goal, path: PathName, medians: Record<PathName, number>): string {
  const value = medians[path];
  if (goal.added !== undefined)
    return `${value.toFixed(row.digits)} ${row.unit}, ${(value - medians.direct).toFixed(row.digits)} over direct`;
  if (goal.absolute !== undefined && goal.ratio === undefined) return `${value.toFixed(row.digits)} ${row.unit}`;
  return `${(value / medians.direct).toFixed(2)}x`;
}

/**
 * The relay against its goal, and the floor and nginx against the same goal: a goal the floor misses is out of reach
 * of any Node relay on this machine in this run.
 */
function verdict(row: Row, medians: Record<PathName, number>): string | undefined {
  const { goal } = row;
  if (!goal) return undefined;
  const nginxRatio = medians.nginx / medians.direct;
  const parts: string[] = [];
  const than = goal.better === 'lower' ? '<=' : '>=';
  if (goal.ratio !== undefined) parts.push(`${than} ${goal.ratio}x direct`);
  if (goal.nginx && !Number.isNaN(nginxRatio)) parts.push(`${than} nginx's ${nginxRatio.toFixed(2)}x`);
  if (goal.absolute !== undefined) parts.push(`${than} ${goal.absolute} ${row.unit}`);
  if (goal.added !== undefined) parts.push(`at most ${goal.added} ${row.unit} over direct`);
  const status = (path: PathName) => (meets(goal, path, medians) ? 'met' : 'NOT met');
  const others = (['floor', 'nginx'] as const)
    .filter((path) => !Number.isNaN(medians[path]) && !(path === 'nginx' && goal.nginx))
    .map((path) => `; ${path} ${figure(row, goal, path, medians)}: ${status(path)}`);
  return `${row.name.trim()}: relay ${figure(row, goal, 'relay', medians)}; goal ${parts.join(' and ')}: ${status('relay')}${others.join('')}`;
}

function report(
  paths: PathName[],
  results: Record<PathName, RoundResult[]>,
  order: PathName[],
  notes: { nginx: string; relay: RelayProcess[]; load: number[] },
): void {
  const lines: string[] = [''];
  lines.push(reportTitle('proxy (direct, nginx, floor, relay)'));
  lines.push(`relay: ${relayCommand().what}; sources and DIRECT: ${childNode()} (node ${childNodeVersion}); nginx: ${notes.nginx}`);
  lines.push(
    "layout: each path has its own source process; clients in this process; latencies from the machine's monotonic clock; 127.0.0.1 only",
  );
  lines.push(
    `workloads: fan-out ${FANOUT.events} events (~330 B) as fast as the source writes, to ${FANOUT.clients} clients; ${LATENCY.rate} ev/s for ${LATENCY.seconds} s to ${LATENCY.clients} clients; ` +
      `${RTT.calls} send_group_msg at ${RTT.rate}/s from 1 client, then ${RTT_IDLE.calls} at ${RTT_IDLE.rate}/s; ${IDLE.clients} idle clients; ${LARGE.each} calls and ${LARGE.each} events of ${LARGE.bytes / MB} MB with ${LARGE.smallRate} small ev/s to ${LARGE.clients - 1} other clients; ` +
      `${POST.events} serial POSTs of ${POST.bytes / 1024} KiB to ${POST.clients} clients`,
  );
  lines.push(
    `rounds: ${order.map((p) => p[0]!.toUpperCase()).join(' ')} (interleaved) after one smaller warm-up of each; values are medians of ${ROUNDS}${QUICK ? ' (BENCH_QUICK: a smoke run, not a measurement)' : ''}`,
  );
  lines.push(
    `CPU rows: the middle process(es) only (direct: the source itself; nginx: its master and worker; floor: floor.ts; relay: the relay), 10 ms resolution`,
  );
  lines.push(
    'floor: the least a Node relay does for the same hops (every frame passed on untouched, to every client: no parsing, routing or checks), on the same Node and ws',
  );
  lines.push('');
  const medians = (row: Row) => Object.fromEntries(paths.map((p) => [p, median(results[p].map(row.value))])) as Record<PathName, number>;
  lines.push(
    ...comparisonTable(
      paths,
      ROWS.map((row) => ({ ...row, sides: paths.map((p) => results[p].map(row.value)) })),
    ),
  );
  lines.push('');
  const withNginx = { ...Object.fromEntries(paths.map((p) => [p, NaN])) } as Record<PathName, number>;
  for (const row of ROWS) {
    const line = verdict(row, { ...withNginx, ...medians(row) });
    if (line) lines.push(`goal ${line}`);
  }
  lines.push(
    `machine load average (1 / 5 / 15 min) before the suite: ${notes.load.map((v) => v.toFixed(2)).join(' / ')}; after: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' / ')}; ${cpus().length} CPUs`,
  );
  lines.push('');
  for (const relay of notes.relay) lines.push(relayOutputText(relay.output));
  process.stdout.write(`${lines.join('\n')}\n`);
}

let childNodeVersion = '?';

// ---------------------------------------------------------------------------------------------------------------

/** Run the suite: three sources, nginx on one, the relay on another (and a relay with an HTTP upstream); report on stdout. */
export async function proxy({ check, cleanups }: BenchContext): Promise<void> {
  const load = loadavg();
  const nginxBinary = ensureNginx();
  const sources = {} as Record<PathName, SourceProcess>;
  for (const name of ['direct', 'nginx', 'floor', 'relay'] as const) {
    sources[name] = await startSource(SELF_ID);
    cleanups.push(() => sources[name].stop());
  }
  childNodeVersion = execFileSync(childNode(), ['--version'], { encoding: 'utf8' }).trim();
  const noClients = (source: SourceProcess, links: number) => async () => {
    const start = clockMs();
    while (((await source.command({ cmd: 'clients' })) as { clients: number }).clients !== links) {
      if (clockMs() - start > 5_000) throw new Error(`clients of the source did not disconnect within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const paths: Path[] = [];
  const direct = sources.direct;
  paths.push({
    name: 'direct',
    url: direct.url,
    source: direct,
    pids: () => [direct.pid],
    idle: noClients(direct, 0),
    post: { url: `http://127.0.0.1:${direct.port}/post`, wsUrl: direct.url, pids: () => [direct.pid], idle: noClients(direct, 0) },
  });
  let nginx: NginxProcess | undefined;
  let nginxNote: string;
  if ('path' in nginxBinary) {
    const [port] = await freePorts(1);
    nginx = await startNginx(nginxBinary.path, port!, sources.nginx.port);
    cleanups.push(() => nginx!.stop());
    nginxNote = `${nginxBinary.path}, 1 worker, WebSocket upgrade headers, buffers as shipped`;
    const source = sources.nginx;
    const proxied = nginx;
    paths.push({
      name: 'nginx',
      url: proxied.url,
      source,
      pids: () => proxied.pids(),
      idle: noClients(source, 0),
      post: { url: `http://127.0.0.1:${port}/post`, wsUrl: proxied.url, pids: () => proxied.pids(), idle: noClients(source, 0) },
    });
  } else {
    nginxNote = `skipped: ${nginxBinary.missing}`;
    process.stderr.write(`bench proxy: nginx ${nginxNote}\n`);
  }
  const floor = await startFloor(sources.floor);
  cleanups.push(() => floor.stop());
  paths.push({
    name: 'floor',
    url: floor.url,
    source: sources.floor,
    pids: () => [floor.pid],
    idle: async () => {
      await noClients(floor, 0)();
      await noClients(sources.floor, 1)();
    },
    post: { url: `http://127.0.0.1:${floor.port}/post`, wsUrl: floor.url, pids: () => [floor.pid], idle: noClients(floor, 0) },
  });
  const relay = await startRelayProcess([sources.relay.url]);
  cleanups.push(() => relay.stop());
  const [postPort] = await freePorts(1);
  const relayHttp = await startRelayProcess([`http://127.0.0.1:${sources.relay.port}`], { upstreamPostListen: `127.0.0.1:${postPort}` });
  cleanups.push(() => relayHttp.stop());
  paths.push({
    name: 'relay',
    url: relay.url,
    source: sources.relay,
    pids: () => [relay.pid],
    idle: async () => {
      await relay.idle();
      await noClients(sources.relay, 1)();
    },
    post: { url: `http://127.0.0.1:${postPort}/`, wsUrl: relayHttp.url, pids: () => [relayHttp.pid], idle: () => relayHttp.idle() },
  });
  const names = paths.map((p) => p.name);

  process.stderr.write(`bench proxy: warming up ${names.join(', ')} (not measured)\n`);
  for (const path of paths) {
    await round(path, 0.2);
    check();
  }
  const order = Array.from({ length: ROUNDS }, () => names).flat();
  const results = Object.fromEntries(names.map((n) => [n, [] as RoundResult[]])) as Record<PathName, RoundResult[]>;
  for (const [i, name] of order.entries()) {
    const t = clockMs();
    const r = await round(paths.find((p) => p.name === name)!);
    results[name].push(r);
    process.stderr.write(
      `bench proxy: round ${i + 1}/${order.length} ${name.padEnd(6)} fan-out ${r.fanout.toFixed(0)} ev/s, latency p50 ${r.latency.p50.toFixed(3)} p99 ${r.latency.p99.toFixed(3)} ms, ` +
        `rtt p50 ${r.rtt.p50.toFixed(3)} p99 ${r.rtt.p99.toFixed(3)} ms, 4 MB call ${r.large.call.toFixed(1)} event ${r.large.event.toFixed(1)} ms ` +
        `(small p99 ${r.large.smallDuringCalls.toFixed(1)} / ${r.large.smallDuringEvents.toFixed(1)} ms), POST ${r.post.rate.toFixed(0)} ev/s (${((clockMs() - t) / 1000).toFixed(1)} s)\n`,
    );
    check();
  }

  // A new process of each path, interleaved too: how soon it serves, then its memory with idle clients.
  const script = { direct: await benchScript('source'), floor: await benchScript('floor') };
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of names) {
      const [port] = await freePorts(1);
      const spawnIt =
        name === 'direct' || name === 'floor'
          ? () => ({
              child: spawn(childNode(), [script[name]], {
                env: { ...process.env, BENCH_PORT: String(port), BENCH_UPSTREAM: sources.floor.url },
                stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
              }),
            })
          : name === 'nginx'
            ? () => spawnNginx((nginxBinary as { path: string }).path, port!, sources.nginx.port)
            : () => ({
                child: spawnRelay(
                  relayConfigFile({ upstream: [sources.relay.url], ws: [`127.0.0.1:${port}`], admin: '127.0.0.1:0', logLevel: 'warn' }),
                ),
              });
      const measuredFresh = await fresh(spawnIt, `ws://127.0.0.1:${port}/`);
      results[name][i]!.fresh = measuredFresh;
      process.stderr.write(
        `bench proxy: new ${name} process ${i + 1}/${ROUNDS}: serving after ${measuredFresh.start.toFixed(1)} ms, RSS ${(measuredFresh.rss.idle / MB).toFixed(1)} MB with ${IDLE.clients} clients\n`,
      );
    }
    check();
  }
  report(names, results, order, { nginx: nginxNote, relay: [relay, relayHttp], load });
}
