// The command line as an operator uses it: flags, config file, errors, defaults, signals.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pkg from '../package.json' with { type: 'json' };
import { parseCommandLine } from '../src/cli.ts';
import { ConfigError } from '../src/config.ts';
import { FakeImplementation } from './fake-impl.ts';
import { busyPort, closeCode, runRelay, TestClient, waitFor } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'onebot-relay-cli-'));
function configFile(content: unknown): string {
  const path = join(tmp, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('settings', () => {
  it('lets flags win over the config file, and fills the rest from defaults', () => {
    const file = configFile({ upstream: 'ws://127.0.0.1:3999/onebot', ping: 2000, ws: ['127.0.0.1:7001'] });
    const cmd = parseCommandLine(['--config', file, '--ping', '3000', '--ws', '127.0.0.1:7002', '--ws=[::1]:7003']);
    assert.equal(cmd.kind, 'run');
    if (cmd.kind !== 'run') return;
    assert.equal(cmd.config.upstream, 'ws://127.0.0.1:3999/onebot');
    assert.equal(cmd.config.ping, 3000);
    assert.deepEqual(cmd.config.ws, [{ listen: { host: '127.0.0.1', port: 7002 } }, { listen: { host: '::1', port: 7003 } }]);
    assert.equal(cmd.config.callTimeout, 25_000);
    assert.deepEqual(cmd.config.admin, { host: '127.0.0.1', port: 6720 });
  });

  it('reads sendLimit from the file and its flags, a flag changing one of its keys and keeping the others', () => {
    const file = configFile({ sendLimit: { group: '3/1s', overflow: 'reject' } });
    const cmd = parseCommandLine(['--config', file, '--send-limit-account', '10/1m', '--send-limit-private=off']);
    assert.equal(cmd.kind, 'run');
    if (cmd.kind !== 'run') return;
    assert.deepEqual(cmd.config.sendLimit, {
      account: { count: 10, per: 60_000 },
      group: { count: 3, per: 1000 },
      private: undefined,
      overflow: 'reject',
    });
    assert.throws(
      () => parseCommandLine(['--send-limit-group', '5 a second']),
      /sendLimit\.group \(--send-limit-group\): expected "COUNT\/DURATION"/,
    );
  });

  it("adds each --alert URL as a webhook after the config file's alerts, and says which alert setting is wrong without echoing it", () => {
    const file = configFile({ alerts: [{ type: 'bark', key: 'device-key', events: ['qq_offline'] }], alertGrace: 10_000 });
    const cmd = parseCommandLine(['--config', file, '--alert', 'https://example.com/hook', '--alert-grace', '5000']);
    assert.equal(cmd.kind, 'run');
    if (cmd.kind !== 'run') return;
    assert.deepEqual(
      cmd.config.alerts.map((a) => [a.type, a.events.length]),
      [
        ['bark', 1],
        ['webhook', 10],
      ],
    );
    assert.equal(cmd.config.alertGrace, 5000);
    const bad = (alerts: unknown) => () => parseCommandLine(['--config', configFile({ alerts })]);
    assert.throws(bad([{ type: 'dingtalk', url: 'ftp://x/robot/send?access_token=leaked-token' }]), (err: Error) => {
      assert.match(err.message, /alerts\.0\.url \(config file .*\): expected a https:\/\/ or http:\/\/ URL/);
      assert.ok(!err.message.includes('leaked-token'));
      return true;
    });
    assert.throws(
      bad([{ type: 'pager', url: 'https://x' }]),
      /alerts\.0\.type .*: expected "type": webhook, dingtalk, feishu, wecom, serverchan, bark, telegram, discord, email or command/,
    );
    assert.throws(bad([{ type: 'telegram', token: 't' }]), /alerts\.0\.chatId/);
    assert.throws(
      bad([{ type: 'webhook', url: 'https://x', events: ['qq_down'] }]),
      /alerts\.0\.events\.0 .*: expected "link_down", "link_up"/,
    );
    assert.throws(bad([{ type: 'webhook', url: 'https://x', template: { a: '{{txt}}' } }]), /unknown field in the template: txt/);
  });

  it('defaults to NapCat on 3001 and loopback ports that clash with nothing common', () => {
    const cmd = parseCommandLine([]);
    assert.equal(cmd.kind, 'run');
    if (cmd.kind !== 'run') return;
    assert.equal(cmd.config.upstream, 'ws://127.0.0.1:3001');
    const addresses = [...cmd.config.ws.map((w) => w.listen), cmd.config.admin];
    const ports = addresses.map((a) => a.port);
    for (const port of ports) assert.ok(![3000, 3001, 5140, 5700, 6099, 6700, 8080].includes(port), `${port} is taken by a common tool`);
    for (const a of addresses) assert.equal(a.host, '127.0.0.1');
  });

  it('makes one upstream per --upstream, and gathers the single-upstream keys and "upstreams" into one list', () => {
    const two = parseCommandLine(['--upstream', 'ws://127.0.0.1:3001', '--upstream', 'ws://127.0.0.1:3002', '--upstream-token', 't']);
    assert.ok(two.kind === 'run');
    assert.deepEqual(
      two.config.upstreams.map((u) => [u.url, u.token]),
      [
        ['ws://127.0.0.1:3001', 't'],
        ['ws://127.0.0.1:3002', 't'],
      ],
    );
    const dir = mkdtempSync(join(tmpdir(), 'relay-cli-'));
    const file = join(dir, 'relay.json');
    writeFileSync(file, JSON.stringify({ upstreams: ['ws://127.0.0.1:3001', { listen: '127.0.0.1:6712', token: 'own' }] }));
    const listed = parseCommandLine(['--config', file]);
    assert.ok(listed.kind === 'run');
    assert.deepEqual(
      listed.config.upstreams.map((u) => [u.url ?? u.listen?.port, u.token]),
      [
        ['ws://127.0.0.1:3001', ''],
        [6712, 'own'],
      ],
      'the default upstream is not added to a list',
    );
    writeFileSync(file, JSON.stringify({ upstreams: [{ url: 'http://127.0.0.1:3000' }] }));
    assert.throws(() => parseCommandLine(['--config', file]), /upstreams\.0.*needs "postListen"/);
    rmSync(dir, { recursive: true });
  });

  it('takes a delivery profile on every endpoint and per named client, a filter file beside the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-cli-'));
    writeFileSync(join(dir, 'groups.json'), JSON.stringify({ group_id: { '.in': [30003] } }));
    const file = join(dir, 'relay.json');
    const profile = { messagePostFormat: 'string', reportSelfMessage: false, compat: ['numericFont'] } as const;
    writeFileSync(
      file,
      JSON.stringify({
        ws: [{ listen: '127.0.0.1:7001', ...profile, filterFile: 'groups.json', clients: { nb: { compat: ['dropNonStandardNotices'] } } }],
        reverse: [{ url: 'ws://127.0.0.1:8080/ws', messagePostFormat: 'array', filter: { '.not': {} } }],
        post: [{ url: 'http://127.0.0.1:8081/', compat: ['integerIds', 'stringRawMessage'] }],
        http: [{ listen: '127.0.0.1:7002', messagePostFormat: 'string' }],
      }),
    );
    const cmd = parseCommandLine(['--config', file]);
    assert.ok(cmd.kind === 'run');
    const [ws] = cmd.config.ws;
    assert.deepEqual(
      { ...ws, listen: undefined },
      {
        listen: undefined,
        ...profile,
        filterFile: 'groups.json',
        filter: { group_id: { '.in': [30003] } },
        clients: { nb: { compat: ['dropNonStandardNotices'] } },
      },
    );
    assert.deepEqual(cmd.config.reverse[0]!.filter, { '.not': {} });
    assert.deepEqual(cmd.config.post[0]!.compat, ['integerIds', 'stringRawMessage']);
    assert.equal(cmd.config.http[0]!.messagePostFormat, 'string');
    rmSync(dir, { recursive: true });
  });

  it('names the place of a mistake in a profile, a filter or a filter file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-cli-'));
    const file = join(dir, 'relay.json');
    const bad = (settings: unknown, pattern: RegExp) => {
      writeFileSync(file, JSON.stringify(settings));
      assert.throws(
        () => parseCommandLine(['--config', file]),
        (err: Error) => err instanceof ConfigError && pattern.test(err.message),
        pattern.source,
      );
    };
    const ws = (fields: object) => ({ ws: [{ listen: '127.0.0.1:7001', ...fields }] });
    bad(ws({ messagePostFormat: 'cq' }), /ws\.0\.messagePostFormat \(config file .*\): expected "array" or "string", got "cq"/);
    bad(
      ws({ compat: ['fixEverything'] }),
      /ws\.0\.compat\.0 .*: expected "numericFont", "stringRawMessage", "dropNonStandardNotices", "integerIds", got "fixEverything"/,
    );
    bad(ws({ reportSelfMessage: 'no' }), /ws\.0\.reportSelfMessage .*: expected true or false, got "no"/);
    bad(
      ws({ filter: { '.or': [{ group_id: { '.in': { a: 1 } } }] } }),
      /ws\.0\.filter .*: at \["\.or"\]\[0\]\["group_id"\]\["\.in"\]: expected a list or a string, got an object/,
    );
    bad(ws({ filter: [] }), /ws\.0\.filter .*: expected an object in go-cqhttp's event-filter syntax/);
    bad(ws({ clients: { nb: { messagePostFormat: 'xml' } } }), /ws\.0\.clients\.nb\.messagePostFormat .*: expected "array" or "string"/);
    bad(ws({ clients: { nb: { token: 'x' } } }), /ws\.0\.clients\.nb\.token .*: unknown setting/);
    bad({ http: [{ listen: '127.0.0.1:7002', filter: {} }] }, /http\.0\.filter .*: unknown setting/);
    bad(
      { reverse: [{ url: 'ws://127.0.0.1:1/', filterFile: 'missing.json' }] },
      /reverse\.0\.filterFile .*: filter file .*missing\.json cannot be read: ENOENT/,
    );
    writeFileSync(join(dir, 'broken.json'), '{ nope');
    bad(
      { post: [{ url: 'http://127.0.0.1:1/', filterFile: 'broken.json' }] },
      /post\.0\.filterFile .*: filter file .*broken\.json is not valid JSON/,
    );
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ user_id: { '.gt': 1 } }));
    bad(
      ws({ clients: { nb: { filterFile: 'wrong.json' } } }),
      /ws\.0\.clients\.nb\.filterFile .*: filter file .*wrong\.json: at \["user_id"\]\["\.gt"\]: unknown operator/,
    );
    bad(ws({ filter: {}, filterFile: 'wrong.json' }), /ws\.0\.filterFile .*: set "filter" or "filterFile", not both/);
    rmSync(dir, { recursive: true });
  });

  const rejects = (argv: string[], pattern: RegExp) =>
    assert.throws(
      () => parseCommandLine(argv),
      (err: Error) => err instanceof ConfigError && pattern.test(err.message),
    );

  it('names the key, where it came from, what was expected and what was given', () => {
    rejects(['--ping', 'abc'], /ping \(--ping\): expected a number of milliseconds, got "abc"/);
    rejects(['--ping', '10'], /ping \(--ping\): expected at least 50 ms, got 10/);
    // Node fires a longer timer at once: a hold of 3e9 ms would be no hold at all.
    rejects(['--hold', '3000000000'], /hold \(--hold\): expected at most 2147483647 ms \(about 24 days\), got 3000000000/);
    rejects(['--ws', 'localhost'], /ws\.0 \(--ws\): expected "HOST:PORT".*got "localhost"/);
    rejects(
      ['--upstream', 'garbage'],
      /upstream \(--upstream\): expected a ws:\/\/ or wss:\/\/ or http:\/\/ or https:\/\/ URL .*got "garbage"/,
    );
    rejects(['--upstream', 'ftp://x'], /upstream \(--upstream\): expected a ws:\/\/ or wss:\/\/ or http:\/\/ or https:\/\/ URL/);
    rejects(
      ['--upstream', 'http://127.0.0.1:3000'],
      /upstreamPostListen \(--upstream-post-listen\): expected "HOST:PORT" where the implementation POSTs its events/,
    );
    rejects(['--upstream', 'ws://127.0.0.1:3001', '--upstream-listen', '127.0.0.1:6712'], /choose one upstream mode/);
    rejects(['--upstream-post-listen', '127.0.0.1:6713'], /only used with an http:\/\/ upstream/);
    rejects(['--reverse', 'http://127.0.0.1:8080/ws'], /reverse\.0 \(--reverse\): expected a ws:\/\/ or wss:\/\/ URL such as .*got "http:/);
    rejects(
      ['--config', configFile({ reverse: [{ apiUrl: 'ws://127.0.0.1:1/api' }] })],
      /reverse\.0 .*either "url" \(Universal\) or both "apiUrl" and "eventUrl"/,
    );
    rejects(
      ['--config', configFile({ post: [{ url: 'http://127.0.0.1:1/', timeout: 'soon' }] })],
      /post\.0\.timeout .*expected a number of milliseconds, got "soon"/,
    );
    rejects(['--log-level', 'loud'], /logLevel \(--log-level\): expected "debug", "info", "warn", "error", got "loud"/);
    rejects(['--bogus'], /unknown flag --bogus/);
    assert.throws(
      () => parseCommandLine(['--upstream', 'ftp://127.0.0.1:3001/?access_token=hunter2']),
      (err: Error) => /access_token=\*\*\*/.test(err.message) && !err.message.includes('hunter2'),
      'a token inside a bad URL is not echoed',
    );
    assert.throws(
      () => parseCommandLine(['--post', 'http://bot:hunter2@127.0.0.1:8080/']),
      (err: Error) =>
        /post\.0 \(--post\): a URL without user:password@ \(set the token or secret setting instead\)/.test(err.message) &&
        !err.message.includes('hunter2'),
      'credentials in a URL are refused (fetch would put them in its error messages) and not echoed',
    );
    rejects(['--token'], /--token needs a value/);
    const file = configFile({ heartbeat: 'fast', colour: 'blue' });
    rejects(['--config', file], new RegExp(`heartbeat \\(config file ${file}\\): expected a number of milliseconds, got "fast"`));
    rejects(['--config', file], /colour \(config file .*\): unknown setting/);
    rejects(['--config', configFile('{ nope')], /is not valid JSON/);
    rejects(['--config', join(tmp, 'missing.json')], /cannot read config file/);
  });
});

describe('command line', { timeout: 30_000 }, () => {
  it('prints the version and a help that lists every flag with its default', async () => {
    const version = runRelay(['--version']);
    assert.equal(await version.exited, 0);
    assert.equal(version.output().trim(), pkg.version);
    const help = runRelay(['--help']);
    assert.equal(await help.exited, 0);
    for (const flag of [
      '--upstream',
      '--upstream-token',
      '--ws',
      '--token',
      '--heartbeat',
      '--admin',
      '--ping',
      '--ping-timeout',
      '--call-timeout',
      '--hold',
      '--reconnect-max',
      '--queue-limit',
      '--max-payload',
      '--log-level',
      '--config',
    ]) {
      assert.ok(help.output().includes(flag), `help mentions ${flag}`);
    }
    assert.match(help.output(), /default: ws:\/\/127\.0\.0\.1:3001/);
  });

  it('exits non-zero with a readable message for bad settings', async () => {
    const run = runRelay(['--heartbeat', 'often']);
    assert.equal(await run.exited, 2);
    assert.match(
      run.output(),
      /onebot-relay: invalid settings:\n {2}heartbeat \(--heartbeat\): expected a number of milliseconds, got "often"/,
    );
  });

  it('exits non-zero naming the endpoint when its port is in use', async () => {
    const { port, blocker } = await busyPort();
    try {
      const run = runRelay(['--ws', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']);
      assert.equal(await run.exited, 1);
      assert.match(run.output(), new RegExp(`WebSocket server on 127\\.0\\.0\\.1:${port}: the port is already in use`));
    } finally {
      blocker.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} closes clients with 1001 and the upstream link, and exits 0 within 2 s`, async () => {
      const fake = await FakeImplementation.start();
      const run = runRelay(['--upstream', fake.url, '--ws', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
      try {
        await waitFor(() => /clients: ws:\/\/127\.0\.0\.1:\d+\//.test(run.output()), 'the banner', 10_000);
        const url = /clients: (ws:\/\/127\.0\.0\.1:\d+)\//.exec(run.output())![1]!;
        await waitFor(() => fake.sockets.size === 1, 'the upstream link');
        const client = await TestClient.connect(url);
        await client.waitForFrames(() => client.meta('lifecycle').length === 1, 'lifecycle connect');
        const upstreamClosed = closeCode([...fake.sockets][0]!);
        const started = Date.now();
        run.child.kill(signal);
        assert.equal((await client.closed).code, 1001);
        assert.equal(await upstreamClosed, 1001);
        assert.equal(await run.exited, 0);
        assert.ok(Date.now() - started < 2000, `exited after ${Date.now() - started} ms`);
      } finally {
        run.child.kill('SIGKILL');
        await fake.stop();
      }
    });
  }

  it('starts with no flags at all beside a NapCat on 127.0.0.1:3001, printing where everything is', async () => {
    const run = runRelay([]);
    try {
      await waitFor(() => /health: /.test(run.output()), 'the banner', 10_000);
      assert.match(run.output(), /upstream: ws:\/\/127\.0\.0\.1:3001/);
      assert.match(run.output(), /clients: ws:\/\/127\.0\.0\.1:6710\//);
      assert.match(run.output(), /status page: http:\/\/127\.0\.0\.1:6720\//);
      assert.match(run.output(), /health: http:\/\/127\.0\.0\.1:6720\/healthz/);
      const health = await fetch('http://127.0.0.1:6720/healthz');
      assert.ok(health.status === 200 || health.status === 503);
    } finally {
      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0);
    }
  });
});
