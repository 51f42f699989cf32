// What every benchmark suite shares: the relay as a child process and its CPU time, clients that wait for the
// relay's lifecycle event, a steady-rate pacer, and small statistics.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** BENCH_QUICK=1: the same workloads, much smaller, to check that they run (CI smoke), not to measure. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** What a suite gets from the runner. */
export interface BenchContext {
  /** Throws once the run was interrupted: call between workloads. */
  check(): void;
  /** Run newest first once the suite is over (or the run stops), whatever happens. */
  cleanups: (() => Promise<void>)[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitUntil(condition: () => boolean, what: string, timeout: number): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(2);
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Call `send(1)`, `send(2)`, ... `send(total)` at `rate` per second, paced by elapsed time (a 1 ms timer fires
 * every ~1 ms, so usually one call per tick).
 */
export function pace(rate: number, total: number, send: (n: number) => void): Promise<void> {
  const start = performance.now();
  let sent = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) send(++sent);
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** CPU time of this process so far, ms. */
export function ownCpu(): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000;
}

/** Resolution of processCpu, ms (one clock tick). */
export const PROCESS_CPU_RESOLUTION_MS = 10;

/** CPU time (every thread) of process `pid` so far, ms, in user space and in the kernel, from /proc; NaN where there is none (not Linux). */
export function processCpu(pid: number): { user: number; system: number } {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them, in clock ticks.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) * PROCESS_CPU_RESOLUTION_MS, system: Number(fields[12]) * PROCESS_CPU_RESOLUTION_MS };
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** Busy and total jiffies of the whole machine so far (every CPU), from /proc/stat; undefined where there is none. */
export function machineTicks(): { busy: number; total: number } | undefined {
  try {
    // "cpu  user nice system idle iowait irq softirq steal ...": idle and iowait are the idle ones.
    const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((sum, v) => sum + v, 0);
    return { busy: total - values[3]! - values[4]!, total };
  } catch {
    return undefined;
  }
}

/** Share of the whole machine's CPU that was busy between two machineTicks readings, 0..1 (NaN without /proc). */
export function machineBusy(before: ReturnType<typeof machineTicks>, after: ReturnType<typeof machineTicks>): number {
  if (!before || !after || after.total === before.total) return NaN;
  return (after.busy - before.busy) / (after.total - before.total);
}

/** The first line of a suite's report: which suite, on which Node and machine. */
export function reportTitle(suite: string): string {
  return `onebot-relay bench, suite ${suite}: node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model.trim() ?? '?'})`;
}

export interface TableRow {
  name: string;
  unit: string;
  digits: number;
  /** Every round's value, side a and side b. */
  a: number[];
  b: number[];
}

/** A table comparing side a with side b, row by row: the median of each, b/a, and every round's value. */
export function comparisonTable(a: string, b: string, rows: TableRow[]): string[] {
  const nameWidth = Math.max(...rows.map((row) => row.name.length));
  const header = [
    'metric'.padEnd(nameWidth),
    'unit'.padEnd(5),
    a.padStart(10),
    b.padStart(10),
    `${b}/${a}`.padStart(13),
    `  rounds ${a} | ${b}`,
  ];
  const lines = [header.join(' '), '-'.repeat(header.join(' ').length + 20)];
  for (const row of rows) {
    const fmt = (value: number) => value.toFixed(row.digits);
    const [ma, mb] = [median(row.a), median(row.b)];
    lines.push(
      [
        row.name.padEnd(nameWidth),
        row.unit.padEnd(5),
        fmt(ma).padStart(10),
        fmt(mb).padStart(10),
        `${(mb / ma).toFixed(2)}x`.padStart(13),
        `  ${row.a.map(fmt).join(' ')} | ${row.b.map(fmt).join(' ')}`,
      ].join(' '),
    );
  }
  return lines;
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

// ---------------------------------------------------------------------------------------------------------------
// Clients

export class BenchClient {
  /** Called for every frame, with the time it arrived. */
  onFrame: (data: Buffer, at: number) => void = () => {};
  /** The lifecycle event it was greeted with. */
  lifecycle = '';

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
        client.lifecycle = data.toString();
        client.onFrame = () => {};
        resolve(client);
      };
    });
  }

  /** Connect to every URL at once; all connected, or none left open. */
  static async connectAll(urls: string[]): Promise<BenchClient[]> {
    const settled = await Promise.allSettled(urls.map((url) => BenchClient.connect(url)));
    const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      for (const client of clients) client.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return clients;
  }

  close(): void {
    this.ws.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The relay in a child process, as in production: it does not share an event loop with the bench's clients.

interface RelayHealth {
  status: string;
  clients: number;
  accounts: { self_id: unknown }[];
}

export interface RelayProcess {
  pid: number;
  /** The WebSocket server for clients, ending in "/". */
  url: string;
  output: string[];
  /** Wait until no client is connected any more (so that rounds do not overlap). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Start the relay on these upstreams (one --upstream each) with one WebSocket server; resolves once every account is up. */
export async function startRelayProcess(upstreams: string[]): Promise<RelayProcess> {
  const [wsPort, adminPort] = await freePorts(2);
  // BENCH_RELAY_NODE_ARGS adds node flags for the relay child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/relay-prof".
  const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = [
    ...nodeArgs,
    '--import',
    'tsx',
    'src/main.ts',
    ...upstreams.flatMap((url) => ['--upstream', url]),
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
    return (await res.json()) as RelayHealth;
  };
  const idle = async () => {
    const start = performance.now();
    while ((await health()).clients !== 0) {
      if (performance.now() - start > 5_000) throw new Error('relay clients did not disconnect within 5 s');
      await sleep(5);
    }
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
      if (h.status === 'up' && h.accounts.length === upstreams.length && h.accounts.every((a) => a.self_id !== null)) break;
    } catch {
      // Not listening yet.
    }
    if (performance.now() - start > 20_000) {
      await stop();
      throw new Error(`relay not up within 20 s:\n${output.join('\n')}`);
    }
    await sleep(50);
  }
  return { pid: child.pid!, url: `ws://127.0.0.1:${wsPort}/`, output, idle, stop };
}

/** The relay child's output for a report: its lines, or that there were none. */
export function relayOutputText(output: string[]): string {
  return output.length
    ? `relay child output (${output.length} lines):\n  ${output.join('\n  ')}`
    : 'relay child output: none (no warnings)';
}
