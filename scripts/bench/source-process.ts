// The bench's source (source.ts), and the proxy suite's FLOOR forwarder (floor.ts), as child processes: bundled once
// with esbuild and run with plain node (no tsx), on the Node inside the relay's executable when build.mjs has cached
// it, so that all run on one Node version.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { owned, ROOT, readFromDisk } from './kit.ts';
import type { SourceCommand } from './source.ts';

const BUILD_CACHE = join(ROOT, 'node_modules', '.cache', 'onebot-relay-build');

/** The Node that runs the bench's children: the executable's (node-<version>/node in build.mjs's cache), else this one. */
export function childNode(): string {
  const cached = existsSync(BUILD_CACHE) ? readdirSync(BUILD_CACHE).map((dir) => join(BUILD_CACHE, dir, 'node')) : [];
  return readFromDisk(cached.find((file) => existsSync(file)) ?? process.execPath);
}

const bundled = new Map<string, Promise<string>>();

/** scripts/bench/<name>.ts (source or floor) as one plain script (made once per run, removed at exit). */
export function benchScript(name: 'source' | 'floor'): Promise<string> {
  let script = bundled.get(name);
  if (!script) {
    script = (async () => {
      const esbuild = await import('esbuild');
      const dir = mkdtempSync(join(tmpdir(), `onebot-relay-bench-${name}-`));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const outfile = join(dir, `${name}.cjs`);
      await esbuild.build({
        entryPoints: [join(ROOT, 'scripts', 'bench', `${name}.ts`)],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        logLevel: 'warning',
      });
      return outfile;
    })();
    bundled.set(name, script);
  }
  return script;
}

export interface SourceProcess {
  pid: number;
  child: ChildProcess;
  /** Its WebSocket server (clients, or the relay's upstream link); its HTTP API at the same address. */
  url: string;
  port: number;
  /** Run a command; resolves with its result once done. */
  command(command: SourceCommand): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Spawn a source; resolves once it listens. `port`: a fixed one (default: any free one). */
export function startSource(selfId: number, port = 0): Promise<SourceProcess> {
  return startBenchChild('source', { BENCH_SELF_ID: String(selfId), BENCH_PORT: String(port) });
}

/** Spawn the FLOOR forwarder (floor.ts) on `source`; resolves once it listens. It answers only the "clients" command. */
export function startFloor(source: SourceProcess): Promise<SourceProcess> {
  return startBenchChild('floor', { BENCH_UPSTREAM: source.url });
}

async function startBenchChild(name: 'source' | 'floor', env: Record<string, string>): Promise<SourceProcess> {
  const child = spawn(childNode(), [await benchScript(name)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = owned(child);
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  let ids = 0;
  const listening = new Promise<number>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the bench ${name} exited at start (code ${code}, signal ${signal})`)));
    child.on('message', (message: { ready?: number; id?: number }) => {
      if (message.ready !== undefined) resolve(message.ready);
      else if (message.id !== undefined) {
        waiting.get(message.id)?.(message);
        waiting.delete(message.id);
      }
    });
  });
  const bound = await listening;
  return {
    pid: child.pid!,
    child,
    port: bound,
    url: `ws://127.0.0.1:${bound}/`,
    command: (command) =>
      new Promise((resolve) => {
        const id = ++ids;
        waiting.set(id, resolve);
        child.send({ id, ...command });
      }),
    stop,
  };
}
