// End-to-end check of a built executable, run as users run it: fake implementation <-> binary <-> client.
//
//   node --import tsx scripts/e2e.ts dist/onebot-relay-linux-x64
//   node --import tsx scripts/e2e.ts dist/onebot-relay-win-x64.exe --wine
//
// With --wine the exe runs under Wine in a fresh prefix set to Windows 10 (or WINEPREFIX if given), its
// output going to a file (not a pipe), and wineserver is stopped at the end. Everything is on 127.0.0.1;
// every process started is stopped; the whole run is bounded in time.
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { FakeImplementation } from '../test/fake-impl.ts';
import { busyPort, freePort, TestClient, waitFor } from '../test/helpers.ts';

const args = process.argv.slice(2);
const wine = args.includes('--wine');
const binaryArg = args.find((a) => !a.startsWith('--'));
if (!binaryArg) {
  console.error('usage: node --import tsx scripts/e2e.ts BINARY [--wine]');
  process.exit(2);
}
const binary = resolve(binaryArg);
if (!existsSync(binary)) {
  console.error(`e2e: ${binary} does not exist (run npm run build first)`);
  process.exit(2);
}

/** The whole run must end within this, ms. */
const DEADLINE_MS = wine ? 300_000 : 120_000;
/** Starting the executable and printing its banner, ms (Wine is slow to start a process). */
const START_MS = wine ? 60_000 : 15_000;
const tmp = mkdtempSync(join(tmpdir(), 'onebot-relay-e2e-'));
const env: NodeJS.ProcessEnv = wine
  ? {
      ...process.env,
      WINEPREFIX: process.env.WINEPREFIX ?? join(tmp, 'wineprefix'),
      WINEDEBUG: '-all',
      WINEDLLOVERRIDES: 'mscoree,mshtml=',
    }
  : { ...process.env };
const children = new Set<ChildProcess>();
const started = Date.now();
let passed = 0;
let failed = 0;

const deadline = setTimeout(() => {
  console.error(`e2e: not finished after ${DEADLINE_MS / 1000} s; giving up`);
  void cleanup().then(() => process.exit(1));
}, DEADLINE_MS);

function elapsed(): string {
  return `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
}

async function check(name: string, body: () => Promise<void>): Promise<void> {
  const t = Date.now();
  try {
    await body();
    passed++;
    console.log(`[e2e ${elapsed()}] ok   ${name} (${Date.now() - t} ms)`);
  } catch (err) {
    failed++;
    console.log(`[e2e ${elapsed()}] FAIL ${name}: ${(err as Error).stack ?? err}`);
  }
}

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Start the executable; its stdout and stderr go to one file. `extraEnv`: more environment for it. */
function launch(exe: string, argv: string[], cwd = tmp, extraEnv: NodeJS.ProcessEnv = {}): Run {
  const outPath = join(tmp, `out-${Math.random().toString(36).slice(2)}.txt`);
  const fd = openSync(outPath, 'w');
  const options: SpawnOptions = { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', fd, fd] };
  const child = wine ? spawn('wine', [exe, ...argv], options) : spawn(exe, argv, options);
  closeSync(fd);
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? -1 : null));
    }),
  );
  return { child, output: () => readFileSync(outPath, 'utf8').replace(/\r\n/g, '\n'), exited };
}

async function exitCode(run: Run, within: number): Promise<number | null> {
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), within).unref());
  const code = await Promise.race([run.exited, timer]);
  if (code === 'timeout') {
    run.child.kill('SIGKILL');
    throw new Error(`still running after ${within} ms; output:\n${run.output()}`);
  }
  return code;
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function banner(run: Run): { clients: string; status: string } {
  const out = run.output();
  const clients = /clients: (ws:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
  const status = /health: (http:\/\/127\.0\.0\.1:\d+\/healthz)/.exec(out)?.[1];
  if (!clients || !status) throw new Error(`no banner yet:\n${out}`);
  return { clients, status };
}

async function waitForBanner(run: Run): Promise<{ clients: string; status: string }> {
  await waitFor(() => /stop with Ctrl\+C/.test(run.output()), `the banner; output so far:\n${run.output()}`, START_MS);
  return banner(run);
}

/** Event delivered byte for byte, API answered, /healthz 200: the relay works end to end. */
async function exercise(fake: FakeImplementation, urls: { clients: string; status: string }): Promise<TestClient> {
  await waitFor(() => fake.sockets.size === 1, 'the upstream link', 15_000);
  const client = await TestClient.connect(urls.clients);
  await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'the lifecycle connect event', 10_000);
  const sent = fake.emit(3);
  await client.waitForFrames(() => client.events().length === 3, 'three events', 10_000);
  if (JSON.stringify(client.events()) !== JSON.stringify(sent))
    throw new Error(`events changed on the way:\n${client.events().join('\n')}`);
  const reply = await client.call('get_login_info', {}, { seq: 7 }, 10_000);
  if (reply.retcode !== 0 || reply.data?.user_id !== fake.selfId || JSON.stringify(reply.echo) !== '{"seq":7}')
    throw new Error(`bad reply ${JSON.stringify(reply)}`);
  const health = await fetch(urls.status);
  const body = (await health.json()) as { status: string };
  if (health.status !== 200 || body.status !== 'up') throw new Error(`healthz ${health.status} ${JSON.stringify(body)}`);
  return client;
}

async function stopWith(run: Run, signal: NodeJS.Signals, client?: TestClient): Promise<void> {
  const t = Date.now();
  run.child.kill(signal);
  const code = await exitCode(run, 10_000);
  if (code !== 0) throw new Error(`exit code ${code} after ${signal}; output:\n${run.output()}`);
  if (client) {
    const closed = await client.closed;
    if (closed.code !== 1001) throw new Error(`client closed with ${closed.code}, not 1001`);
  }
  if (!new RegExp(`${signal}: shutting down`).test(run.output())) throw new Error(`no shutdown line:\n${run.output()}`);
  console.log(`[e2e ${elapsed()}]      ${signal}: exited 0 in ${Date.now() - t} ms`);
}

function prepareWine(): void {
  const step = (command: string, argv: string[]) => {
    const t = Date.now();
    const r = spawnSync(command, argv, { env, stdio: 'ignore', timeout: 120_000 });
    if (r.error || r.status !== 0) {
      const hint =
        (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
          ? ' (Wine is not installed; Debian: apt-get install wine wine64)'
          : '';
      throw new Error(`${command} ${argv.join(' ')} failed: ${r.error?.message ?? `exit ${r.status}`}${hint}`);
    }
    console.log(`[e2e ${elapsed()}] ${command} ${argv.join(' ')} (${Date.now() - t} ms)`);
  };
  step('wineboot', ['-i']);
  step('winecfg', ['/v', 'win10']);
}

async function cleanup(): Promise<void> {
  for (const child of children) child.kill('SIGKILL');
  if (wine) spawnSync('wineserver', ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
  rmSync(tmp, { recursive: true, force: true });
}

async function main(): Promise<void> {
  console.log(`[e2e ${elapsed()}] ${binary}${wine ? ` under Wine (${env.WINEPREFIX})` : ''}`);
  if (wine) prepareWine();

  await check('--version prints the version', async () => {
    const run = launch(binary, ['--version']);
    if ((await exitCode(run, START_MS)) !== 0) throw new Error(run.output());
    if (run.output().trim() !== pkg.version) throw new Error(`got ${JSON.stringify(run.output())}`);
  });

  // The code cache (Linux) is made with V8's default flags: with others it does not fit, and is passed over quietly.
  await check('a V8 flag in NODE_OPTIONS: it starts without a word from Node', async () => {
    const run = launch(binary, ['--version'], tmp, { NODE_OPTIONS: '--max-old-space-size=256' });
    if ((await exitCode(run, START_MS)) !== 0) throw new Error(run.output());
    if (run.output().trim() !== pkg.version) throw new Error(`got ${JSON.stringify(run.output())}`);
  });

  await check('--help lists the settings', async () => {
    const run = launch(binary, ['--help']);
    if ((await exitCode(run, START_MS)) !== 0) throw new Error(run.output());
    for (const flag of ['--upstream', '--ws', '--config', '--log-file', '--keep-quick-edit'])
      if (!run.output().includes(flag)) throw new Error(`no ${flag} in:\n${run.output()}`);
  });

  await check('a bad setting exits 2 with a readable message', async () => {
    const run = launch(binary, ['--heartbeat', 'often']);
    if ((await exitCode(run, START_MS)) !== 2) throw new Error(run.output());
    if (
      !/onebot-relay: invalid settings:\n {2}heartbeat \(--heartbeat\): expected a number of milliseconds, got "often"/.test(run.output())
    )
      throw new Error(run.output());
  });

  await check('a config file that is not JSON exits 2 naming the file', async () => {
    const file = join(tmp, 'broken.json');
    writeFileSync(file, '{ "ping": ');
    const run = launch(binary, ['--config', file]);
    if ((await exitCode(run, START_MS)) !== 2) throw new Error(run.output());
    if (!/config file .*broken\.json is not valid JSON/.test(run.output())) throw new Error(run.output());
  });

  await check('a port in use exits 1 naming the endpoint', async () => {
    const { port, blocker } = await busyPort();
    try {
      const run = launch(binary, [
        '--ws',
        `127.0.0.1:${port}`,
        '--admin',
        '127.0.0.1:0',
        '--upstream',
        `ws://127.0.0.1:${await freePort()}`,
      ]);
      if ((await exitCode(run, START_MS)) !== 1) throw new Error(run.output());
      if (!new RegExp(`WebSocket server on 127\\.0\\.0\\.1:${port}: the port is already in use`).test(run.output()))
        throw new Error(run.output());
    } finally {
      blocker.close();
    }
  });

  // Under Wine a Unix SIGINT becomes Ctrl+C (CTRL_C_EVENT); no Unix signal becomes Ctrl+Break or a
  // closed console window, so those two are tested from source (test/standalone.test.ts). On Linux,
  // SIGHUP reloads the settings instead of stopping.
  const signals: NodeJS.Signals[] = wine ? ['SIGINT'] : ['SIGINT', 'SIGTERM'];
  for (const signal of signals) {
    await check(
      `fake implementation <-> relay <-> client: event, API call, /healthz 200, log file; ${signal} stops it cleanly`,
      async () => {
        const fake = await FakeImplementation.start();
        const logFile = join(tmp, `relay-${signal}.log`);
        const run = launch(binary, ['--upstream', fake.url, '--ws', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-file', logFile]);
        try {
          const client = await exercise(fake, await waitForBanner(run));
          await stopWith(run, signal, client);
          const logged = readFileSync(logFile, 'utf8');
          if (!/log file: /.test(logged) || !new RegExp(`${signal}: shutting down`).test(logged)) throw new Error(`log file:\n${logged}`);
        } finally {
          run.child.kill('SIGKILL');
          await fake.stop();
        }
      },
    );
  }

  await check(
    `in a console (a pseudo-terminal): Ctrl+C typed into it stops the relay cleanly${wine ? '; the QuickEdit step fails under Wine (PowerShell is a stub there) and is only logged' : ''}`,
    async () => {
      if (spawnSync('script', ['--version'], { stdio: 'ignore' }).error)
        return void console.log(`[e2e ${elapsed()}]      skipped: no \`script\` (util-linux) here`);
      const fake = await FakeImplementation.start();
      const outPath = join(tmp, 'console.txt');
      const argv = ['--upstream', fake.url, '--ws', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
      const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
      // `exec`: otherwise script's $SHELL (dash on Debian) stays in between and dies of the Ctrl+C itself (exit 130).
      const command = `exec ${[...(wine ? ['wine'] : []), binary, ...argv].map(quote).join(' ')}`;
      const child = spawn('script', ['-qfec', command, outPath], { env, cwd: tmp, stdio: ['pipe', 'ignore', 'ignore'] });
      children.add(child);
      const exited = new Promise<number | null>((r) =>
        child.on('exit', (code) => {
          children.delete(child);
          r(code);
        }),
      );
      // The terminal wraps lines and adds escape sequences: read it as one flat string.
      const screen = () =>
        (existsSync(outPath) ? readFileSync(outPath, 'utf8') : '')
          .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '')
          .replace(/[\r\n]/g, '');
      const run: Run = { child, output: screen, exited };
      try {
        const urls = await waitForBanner(run);
        if (wine)
          await waitFor(() => /could not turn QuickEdit off in this console \(PowerShell/.test(screen()), 'the QuickEdit warning', 30_000);
        const client = await exercise(fake, urls);
        child.stdin!.write('\x03');
        const code = await exitCode(run, 10_000);
        if (code !== 0) throw new Error(`exit code ${code} after Ctrl+C:\n${screen()}`);
        if (!/SIGINT: shutting down/.test(screen())) throw new Error(`no shutdown line:\n${screen()}`);
        if ((await client.closed).code !== 1001) throw new Error('the client was not closed with 1001');
      } finally {
        child.kill('SIGKILL');
        await fake.stop();
      }
    },
  );

  await check(
    'double-click: no flags writes onebot-relay.json, a log file and a spool folder beside the executable, and runs',
    async () => {
      for (const port of [6710, 6720])
        if (!(await portFree(port))) throw new Error(`port ${port} is in use; the default-settings check needs it`);
      const fake = (await portFree(3001)) ? await FakeImplementation.start({ port: 3001 }) : undefined;
      const dir = mkdtempSync(join(tmp, 'double-click-'));
      const exe = join(dir, basename(binary));
      copyFileSync(binary, exe);
      const elsewhere = mkdtempSync(join(tmp, 'cwd-'));
      try {
        const first = launch(exe, [], elsewhere);
        const urls = await waitForBanner(first);
        if (!/config: .*onebot-relay\.json \(just written with every default/.test(first.output())) throw new Error(first.output());
        const settings = JSON.parse(readFileSync(join(dir, 'onebot-relay.json'), 'utf8'));
        if (
          settings.upstream !== 'ws://127.0.0.1:3001' ||
          settings.logFile !== 'onebot-relay.log' ||
          settings.spool !== 'spool' ||
          settings.ping !== 10000
        )
          throw new Error(JSON.stringify(settings));
        if (!existsSync(join(dir, 'spool'))) throw new Error(`no spool folder beside the executable:\n${first.output()}`);
        if (urls.clients !== 'ws://127.0.0.1:6710' || urls.status !== 'http://127.0.0.1:6720/healthz') throw new Error(first.output());
        if (fake) await exercise(fake, urls).then((c) => c.close());
        else console.log(`[e2e ${elapsed()}]      (port 3001 is busy: the link to a fake implementation is not checked here)`);
        await stopWith(first, 'SIGINT');
        if (!/stop with Ctrl\+C/.test(readFileSync(join(dir, 'onebot-relay.log'), 'utf8')))
          throw new Error('no banner in onebot-relay.log');
        if (existsSync(join(elsewhere, 'onebot-relay.json'))) throw new Error('wrote the settings into the working directory');

        const second = launch(exe, [], elsewhere);
        await waitForBanner(second);
        if (/just written/.test(second.output())) throw new Error(`rewrote the settings:\n${second.output()}`);
        await stopWith(second, 'SIGINT');

        // A bad file beside it: a readable error and exit 2 at once (no console window here, so no wait for Enter).
        writeFileSync(join(dir, 'onebot-relay.json'), JSON.stringify({ ...settings, ping: 'often' }));
        const bad = launch(exe, [], elsewhere);
        if ((await exitCode(bad, START_MS)) !== 2) throw new Error(bad.output());
        if (!/ping \(config file .*onebot-relay\.json\): expected a number of milliseconds, got "often"/.test(bad.output()))
          throw new Error(bad.output());
      } finally {
        await fake?.stop();
      }
    },
  );
}

try {
  await main();
} finally {
  clearTimeout(deadline);
  await cleanup();
}
console.log(`[e2e ${elapsed()}] ${wine ? 'Wine' : 'native'} run of ${basename(binary)} done`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
