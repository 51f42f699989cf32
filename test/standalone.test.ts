// The single executable's own behaviour that can be tested from source: the settings file a
// double-click writes, the log-file and QuickEdit settings, and the Windows console decisions.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommandLine } from '../src/cli.ts';
import { ConfigError, DEFAULTS } from '../src/config.ts';
import { CONFIG_NAME, isExecutable, LOG_NAME, SPOOL_NAME, settingsBeside } from '../src/standalone.ts';
import { parseReport, pauseOnFatal, quickEditOn, withoutQuickEdit } from '../src/windows-console.ts';
import { FakeImplementation } from './fake-impl.ts';
import { runRelay, TestClient, waitFor } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'onebot-relay-standalone-'));

function run(argv: string[]) {
  const cmd = parseCommandLine(argv);
  assert.equal(cmd.kind, 'run');
  if (cmd.kind !== 'run') throw new Error('unreachable');
  return cmd.config;
}

describe('double-click settings file', () => {
  it('is written once, with every default spelled out and the log file and spool on', () => {
    const dir = mkdtempSync(join(tmp, 'exe-'));
    const first = settingsBeside(dir);
    assert.deepEqual(first, { path: join(dir, CONFIG_NAME), created: true });
    const written = JSON.parse(readFileSync(first.path, 'utf8'));
    for (const [key, value] of Object.entries(DEFAULTS)) {
      if (value === undefined) continue; // optional modes with no default value
      assert.deepEqual(written[key], key === 'logFile' ? LOG_NAME : key === 'spool' ? SPOOL_NAME : value, key);
    }
    // It reads back as the built-in defaults, with the log file and the spool beside it.
    const fromFile = run(['--config', first.path]);
    assert.deepEqual({ ...fromFile, logFile: '', spool: '' }, run([]));
    assert.equal(fromFile.logFile, join(dir, LOG_NAME));
    assert.equal(fromFile.spool, join(dir, SPOOL_NAME));
    // An edited file is never overwritten.
    writeFileSync(first.path, '{"ping": 2000}');
    assert.deepEqual(settingsBeside(dir), { path: first.path, created: false });
    assert.equal(readFileSync(first.path, 'utf8'), '{"ping": 2000}');
  });

  it('reports a folder it cannot write to instead of failing', () => {
    const result = settingsBeside(join(tmp, 'missing-dir'));
    assert.equal(result.created, false);
    assert.match(result.error ?? '', /ENOENT/);
  });

  it('is not used when running from source', () => {
    assert.equal(isExecutable(), false);
  });
});

describe('log and console settings', () => {
  it('puts a relative log file beside the config file naming it, or in the working directory for a flag', () => {
    const dir = mkdtempSync(join(tmp, 'cfg-'));
    const file = join(dir, 'relay.json');
    writeFileSync(file, JSON.stringify({ logFile: 'logs.log', logFileSize: 65536 }));
    assert.equal(run(['--config', file]).logFile, join(dir, 'logs.log'));
    assert.equal(run(['--config', file]).logFileSize, 65536);
    assert.equal(run(['--config', file, '--log-file', 'here.log']).logFile, resolve('here.log'));
    assert.equal(run([]).logFile, '');
    assert.equal(run(['--config', file, '--log-file=']).logFile, '', '--log-file= turns a configured file off');
    assert.throws(
      () => run(['--log-file-size', '100']),
      (err: Error) => err instanceof ConfigError && /logFileSize \(--log-file-size\): expected at least 65536 bytes/.test(err.message),
    );
  });

  it('keeps the spool beside the config file unless told where or told none, and in memory without a config file', () => {
    const dir = mkdtempSync(join(tmp, 'cfg-'));
    const file = join(dir, 'relay.json');
    writeFileSync(file, '{}');
    assert.equal(run([]).spool, '');
    assert.equal(run(['--config', file]).spool, join(dir, SPOOL_NAME));
    assert.equal(run(['--config', file, '--spool', 'here']).spool, resolve('here'));
    assert.equal(run(['--config', file, '--spool=']).spool, '', '--spool= keeps events in memory only');
    writeFileSync(file, JSON.stringify({ spool: 'kept' }));
    assert.equal(run(['--config', file]).spool, join(dir, 'kept'));
    writeFileSync(file, JSON.stringify({ spool: '' }));
    assert.equal(run(['--config', file]).spool, '');
    assert.equal(run(['--spool-fsync', '0']).spoolFsync, 0);
    assert.equal(run([]).spoolFsync, 100);
    assert.throws(
      () => run(['--spool-fsync', '-1']),
      (err: Error) => err instanceof ConfigError && /spoolFsync \(--spool-fsync\): expected at least 0 ms/.test(err.message),
    );
  });

  it('takes --keep-quick-edit without a value, or =true / =false', () => {
    assert.equal(run([]).keepQuickEdit, false);
    assert.equal(run(['--keep-quick-edit']).keepQuickEdit, true);
    assert.equal(run(['--keep-quick-edit', '--ping', '2000']).ping, 2000);
    assert.equal(run(['--keep-quick-edit=false']).keepQuickEdit, false);
    assert.throws(() => run(['--keep-quick-edit=maybe']), /keepQuickEdit \(--keep-quick-edit\): expected true or false, got "maybe"/);
  });
});

describe('Windows console', () => {
  it('clears QuickEdit and sets the extended-flags bit that makes it stick', () => {
    const typical = 0x1f7; // QuickEdit, insert, extended flags, line input, echo, processed
    assert.equal(quickEditOn(typical), true);
    assert.equal(withoutQuickEdit(typical), 0x1b7);
    assert.equal(quickEditOn(withoutQuickEdit(typical)), false);
    assert.equal(withoutQuickEdit(0x07) & 0x80, 0x80);
  });

  it("reads the PowerShell child's report, not counting the child itself", () => {
    assert.deepEqual(parseReport('noise\r\nonebot-relay-console 2 503 439\r\n'), { processes: 1, modeBefore: 503, modeAfter: 439 });
    assert.equal(parseReport(''), undefined);
  });

  it('waits for Enter after a fatal error when double-clicked, unless the console is known to be shared', () => {
    const alone = { processes: 1, modeBefore: 0, modeAfter: 0 };
    const shared = { processes: 2, modeBefore: 0, modeAfter: 0 };
    assert.equal(pauseOnFatal(true, alone), true, 'double-clicked');
    assert.equal(pauseOnFatal(true, shared), false, 'started with no flags from cmd or PowerShell');
    assert.equal(pauseOnFatal(true, new Error('PowerShell is blocked')), true, 'unknown: the window stays readable');
    assert.equal(pauseOnFatal(true, undefined), true, 'PowerShell did not answer in time');
    assert.equal(pauseOnFatal(false, alone), false, 'flags, a service, or from source: exit at once');
  });
});

describe('Windows signals, run on Linux with process.platform set to win32', { timeout: 30_000 }, () => {
  // Ctrl+Break arrives as SIGBREAK, a closed console window as SIGHUP. Linux cannot send SIGBREAK, so a
  // preload turns SIGUSR2 into a 'SIGBREAK' event; SIGHUP is a real signal.
  const preload = `data:text/javascript,${encodeURIComponent(
    "Object.defineProperty(process, 'platform', { value: 'win32' }); process.on('SIGUSR2', () => process.emit('SIGBREAK', 'SIGBREAK'));",
  )}`;
  for (const [name, send] of [
    ['Ctrl+Break (SIGBREAK)', 'SIGUSR2'],
    ['closing the console window (SIGHUP)', 'SIGHUP'],
  ] as const) {
    it(`${name} closes clients with 1001 and exits 0`, async () => {
      const fake = await FakeImplementation.start();
      const { child, output, exited } = runRelay(
        ['--upstream', fake.url, '--ws', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
        ['--import', preload],
      );
      try {
        await waitFor(() => /stop with Ctrl\+C, Ctrl\+Break or by closing this window/.test(output()), 'the Windows banner', 10_000);
        const url = /clients: (ws:\/\/127\.0\.0\.1:\d+)\//.exec(output())![1]!;
        await waitFor(() => fake.sockets.size === 1, 'the upstream link');
        const client = await TestClient.connect(url);
        await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
        child.kill(send);
        assert.equal((await client.closed).code, 1001);
        assert.equal(await exited, 0);
        assert.match(output(), send === 'SIGHUP' ? /SIGHUP: shutting down/ : /SIGBREAK: shutting down/);
      } finally {
        child.kill('SIGKILL');
        await fake.stop();
      }
    });
  }
});
