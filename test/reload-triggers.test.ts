// What starts a reload in a running relay process: an edit of its config file, and SIGHUP (POSIX).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { runRelay, waitFor } from './helpers.ts';

describe('reload triggers', { timeout: 30_000 }, () => {
  it('reloads when the config file changes and on SIGHUP, and keeps running on a broken edit', async () => {
    const fake = await FakeImplementation.start();
    const file = join(mkdtempSync(join(tmpdir(), 'onebot-relay-reload-')), 'onebot-relay.json');
    const settings = { upstream: fake.url, ws: ['127.0.0.1:0'], admin: '127.0.0.1:0' };
    writeFileSync(file, JSON.stringify(settings));
    const { child, output, exited } = runRelay(['--config', file]);
    const refusals = () => output().match(/reload refused/g)?.length ?? 0;
    try {
      await waitFor(() => /health: /.test(output()) && fake.sockets.size === 1, 'the relay up', 10_000);
      writeFileSync(file, JSON.stringify({ ...settings, http: ['127.0.0.1:0'] }));
      await waitFor(() => /reloaded: added HTTP API server 127\.0\.0\.1:0/.test(output()), 'a reload for the edit', 5000);
      writeFileSync(file, '{ "upstream": ');
      await waitFor(
        () => /reload refused, the running settings stay: config file .* is not valid JSON/.test(output()),
        'a refused reload',
        5000,
      );
      await new Promise((r) => setTimeout(r, 500)); // let the watcher settle
      const before = refusals();
      child.kill('SIGHUP'); // the file is still broken: this reload is refused too
      await waitFor(() => refusals() > before, 'SIGHUP to reload', 5000);
      assert.equal(child.exitCode, null, 'SIGHUP did not stop it');
      writeFileSync(file, JSON.stringify(settings));
      await waitFor(() => /reloaded: removed HTTP API server/.test(output()), 'the fixed file to apply', 5000);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      await fake.stop();
    }
  });
});
