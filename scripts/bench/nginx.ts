// nginx as a WebSocket (and HTTP) reverse proxy in front of one bench source: each client gets its own upstream
// connection. Debian's nginx is installed when it is missing and this process is root; otherwise the proxy suite
// runs without it and says why.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childrenOf, owned, readFromDisk } from './kit.ts';

const NGINX = '/usr/sbin/nginx';

/** The nginx binary, installed from Debian when missing and possible; or why there is none. */
export function ensureNginx(): { path: string } | { missing: string } {
  if (existsSync(NGINX)) return { path: readFromDisk(NGINX) };
  if (process.getuid?.() !== 0) return { missing: 'nginx is not installed, and installing it needs root' };
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error) return { missing: 'nginx is not installed, and there is no apt-get' };
  process.stderr.write('bench: installing Debian nginx (apt-get install nginx)\n');
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
    });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    result = install();
  }
  if (result.status !== 0 || !existsSync(NGINX))
    return { missing: `apt-get install nginx failed: ${(result.stderr ?? '').trim().split('\n').pop()}` };
  return { path: readFromDisk(NGINX) };
}

export interface NginxProcess {
  /** The master's, and its one worker's (the one doing the work). */
  pids(): number[];
  url: string;
  stop(): Promise<void>;
}

/** One worker, as the relay is one thread; buffers and timeouts as shipped, except the ones a long-lived WebSocket needs. */
function config(dir: string, listen: number, upstream: number): string {
  return `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  client_body_buffer_size 64k;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream source { server 127.0.0.1:${upstream}; keepalive 8; }
  server {
    listen 127.0.0.1:${listen} backlog=4096;
    location / {
      proxy_pass http://source;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`;
}

/** nginx on `listen` proxying to the source on `upstream`, in a temp directory that `cleanup` removes. */
export function spawnNginx(
  binary: string,
  listen: number,
  upstream: number,
  output: string[] = [],
): { child: ChildProcess; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'onebot-relay-bench-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config(dir, listen, upstream));
  const child = spawn(binary, ['-p', dir, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start nginx on `listen`, proxying to the source on `upstream`; resolves once it accepts connections. */
export async function startNginx(binary: string, listen: number, upstream: number): Promise<NginxProcess> {
  const output: string[] = [];
  const { child, cleanup } = spawnNginx(binary, listen, upstream, output);
  const stopOwned = owned(child);
  const stop = async () => {
    await stopOwned();
    cleanup();
  };
  const started = performance.now();
  while (childrenOf(child.pid!).length === 0 || !(await accepts(listen))) {
    if (child.exitCode !== null || performance.now() - started > 10_000) {
      await stop();
      throw new Error(`nginx did not start:\n${output.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { pids: () => [child.pid!, ...childrenOf(child.pid!)], url: `ws://127.0.0.1:${listen}/`, stop };
}

async function accepts(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/get_status`, { method: 'POST', body: '{}' });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
