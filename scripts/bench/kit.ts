// What every benchmark suite shares: the relay as a child process and its CPU time, clients that wait for the
// relay's lifecycle event, a steady-rate pacer, and small statistics.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { clockMs } from './events.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

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

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** p50 and p99 of some values. */
export function spread(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/**
 * Resident memory of process `pid` now, bytes, from /proc (NaN where there is none): all of it (VmRSS), and its
 * anonymous part (RssAnon: heap and buffers, without the pages of the executable and libraries it has touched).
 */
export function processRss(pid: number): { total: number; anon: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { total: kb('VmRSS'), anon: kb('RssAnon') };
  } catch {
    return { total: NaN, anon: NaN };
  }
}

/** The child processes of `pid`, from /proc (none where there is no /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
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

/** Once `idle` says the last round's clients are gone: clients on `urls`, given to `run`, closed when it ends. */
export async function withClients<T>(idle: () => Promise<void>, urls: string[], run: (clients: BenchClient[]) => Promise<T>): Promise<T> {
  await idle();
  const clients = await BenchClient.connectAll(urls);
  try {
    return await run(clients);
  } finally {
    for (const client of clients) client.close();
  }
}

/** CPU time (user and kernel) of the processes `pids` together so far, ms (see processCpu). */
export function processesCpu(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    const { user, system } = processCpu(pid);
    return sum + user + system;
  }, 0);
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
  /** Every round's value, one list per side. */
  sides: number[][];
}

/** A table comparing sides row by row: the median of each, each side's over the first, and every round's value. */
export function comparisonTable(names: string[], rows: TableRow[]): string[] {
  const nameWidth = Math.max(...rows.map((row) => row.name.length));
  const [first, ...others] = names;
  const header = [
    'metric'.padEnd(nameWidth),
    'unit'.padEnd(5),
    ...names.map((name) => name.padStart(10)),
    ...others.map((name) => `${name}/${first}`.padStart(13)),
    `  rounds ${names.join(' | ')}`,
  ];
  const lines = [header.join(' '), '-'.repeat(header.join(' ').length + 20)];
  for (const row of rows) {
    const fmt = (value: number) => value.toFixed(row.digits);
    const medians = row.sides.map(median);
    lines.push(
      [
        row.name.padEnd(nameWidth),
        row.unit.padEnd(5),
        ...medians.map((m) => fmt(m).padStart(10)),
        ...medians.slice(1).map((m) => `${(m / medians[0]!).toFixed(2)}x`.padStart(13)),
        `  ${row.sides.map((values) => values.map(fmt).join(' ')).join(' | ')}`,
      ].join(' '),
    );
  }
  return lines;
}

/** Ports the OS considers free right now: listen on 0, note the port, close. */
export async function freePorts(count: number): Promise<number[]> {
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
  /** Called for every frame, with the time it arrived (clockMs: comparable with a time taken in another process). */
  onFrame: (data: Buffer, at: number) => void = () => {};
  /** The lifecycle event it was greeted with. */
  lifecycle = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.onFrame(data as Buffer, clockMs());
    });
    ws.on('error', () => {});
  }

  /** Connect and wait for the lifecycle connect event (direct: sent on accept; relay: sent once the session is live). */
  static connect(url: string, timeout = 5_000): Promise<BenchClient> {
    // No UTF-8 check of what arrives: the bench measures the proxies, not its own clients.
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
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
    const settled: PromiseSettledResult<BenchClient>[] = [];
    // At most 100 handshakes at a time, so that a thousand stay within every listen backlog.
    for (let i = 0; i < urls.length; i += 100)
      settled.push(...(await Promise.allSettled(urls.slice(i, i + 100).map((url) => BenchClient.connect(url)))));
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

/**
 * How the relay child runs. BENCH_RELAY: the path of an executable, or "source" (node --import tsx src/main.ts); by
 * default dist/onebot-relay-linux-x64, built first when it is missing. BENCH_RELAY_NODE_ARGS: node flags for it (to
 * the executable as NODE_OPTIONS), e.g. "--cpu-prof --cpu-prof-dir=/tmp/relay-prof".
 */
export interface RelayCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** What the report says it ran. */
  what: string;
}

let relayCommandOnce: RelayCommand | undefined;

export function relayCommand(): RelayCommand {
  if (relayCommandOnce) return relayCommandOnce;
  const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const chosen = process.env.BENCH_RELAY ?? join(ROOT, 'dist', 'onebot-relay-linux-x64');
  if (chosen === 'source') {
    relayCommandOnce = {
      file: process.execPath,
      args: [...nodeArgs, '--import', 'tsx', join(ROOT, 'src', 'main.ts')],
      env: process.env,
      what: `node ${process.version} ${nodeArgs.join(' ')} --import tsx src/main.ts (from source)`,
    };
    return relayCommandOnce;
  }
  if (!existsSync(chosen)) {
    if (process.env.BENCH_RELAY) throw new Error(`BENCH_RELAY: no executable at ${chosen}`);
    process.stderr.write('bench: building the relay executable (node build.mjs --linux)\n');
    const built = spawnSync(process.execPath, ['build.mjs', '--linux'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (built.status !== 0) throw new Error('building the relay executable failed');
  }
  const env = { ...process.env, ...(nodeArgs.length ? { NODE_OPTIONS: nodeArgs.join(' ') } : {}) };
  relayCommandOnce = {
    file: readFromDisk(chosen),
    args: [],
    env,
    what: `${relative(ROOT, chosen) || chosen}${nodeArgs.length ? ` (NODE_OPTIONS=${nodeArgs.join(' ')})` : ''}`,
  };
  return relayCommandOnce;
}

const readBack = new Set<string>();

/**
 * `file`, a program the bench runs, with its page cache dropped before its first start in this run (Linux, with dd;
 * nothing elsewhere), so that it is read back from disk. A file just written (the executable fresh from the build, a
 * Node just unpacked) sits in the page cache in large folios, and a process mapping it has far more of it resident:
 * the relay's executable fresh from the build showed 16 MB more RSS than the same file read back. Every side's RSS
 * then counts its program's pages the same way, however recently it was written.
 */
export function readFromDisk(file: string): string {
  if (!readBack.has(file)) {
    readBack.add(file);
    spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: 'ignore' });
  }
  return file;
}

/** `child` is killed if this process exits first; the function returned stops it (stopChild) and lets go of that. */
export function owned(child: ChildProcess): () => Promise<void> {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
  };
}

/** SIGTERM, and wait for the exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

let configDir: string | undefined;

/** Write the relay's settings to a config file in this run's temp directory (removed at exit); returns its path. */
export function relayConfigFile(settings: Record<string, unknown>): string {
  if (!configDir) {
    const dir = mkdtempSync(join(tmpdir(), 'onebot-relay-bench-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    configDir = dir;
  }
  const file = join(configDir, `relay-${++configFiles}.json`);
  writeFileSync(file, JSON.stringify(settings));
  return file;
}
let configFiles = 0;

/** Spawn the relay on a config file, its output collected in `output`. */
export function spawnRelay(configFile: string, output: string[] = []): ChildProcess {
  const { file, args, env } = relayCommand();
  const child = spawn(file, [...args, '--config', configFile], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) =>
    output.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim() !== ''),
    );
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return child;
}

/**
 * Start the relay on these upstreams with one WebSocket server for clients, and `settings` besides (more "ws"
 * endpoints are added after that one). Resolves once every account is up, or with `ready: "listening"` once it
 * answers (an upstream that cannot be reached stays down).
 */
export async function startRelayProcess(
  upstreams: string[],
  settings: Record<string, unknown> = {},
  ready: 'accounts' | 'listening' = 'accounts',
): Promise<RelayProcess> {
  const [wsPort, adminPort] = await freePorts(2);
  const { ws = [], ...rest } = settings as { ws?: unknown[] };
  const config = relayConfigFile({
    upstream: upstreams,
    ...rest,
    ws: [`127.0.0.1:${wsPort}`, ...ws],
    admin: `127.0.0.1:${adminPort}`,
    logLevel: 'warn',
    // The round-trip workloads send to one group as fast as they can: they measure the relay, not the send limits.
    sendLimit: { account: 'off', group: 'off' },
  });
  const output: string[] = [];
  const child = spawnRelay(config, output);
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
      if (ready === 'listening') break;
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
