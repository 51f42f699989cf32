// scripts/ensure-frameworks.mjs when the package index cannot be reached: one clear line, no environment, and the
// framework tests then fail with that line (python-bot.ts) instead of being skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { freePort } from './helpers.ts';
import { frameworkPython } from './python-bot.ts';

it('says in one line that pip could not reach the index, and the framework tests fail with it', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onebot-relay-venv-'));
  const venv = join(dir, 'venv');
  try {
    const closed = await freePort(); // nothing listens there
    const run = spawnSync(process.execPath, ['scripts/ensure-frameworks.mjs'], {
      encoding: 'utf8',
      timeout: 50_000,
      // No local wheels either (a machine may point pip at some): only the unreachable index.
      env: { ...process.env, ONEBOT_RELAY_VENV: venv, PIP_INDEX_URL: `http://127.0.0.1:${closed}/simple`, PIP_FIND_LINKS: dir },
    });
    assert.equal(run.status, 0, 'the rest of the suite still runs');
    const said = run.stdout.trim().split('\n').at(-1)!;
    assert.match(
      said,
      /^framework tests will fail: pip could not reach the package index \(Failed to establish a new connection: .*Connection refused\)/,
    );
    assert.equal(existsSync(venv), false, 'no half-made environment left');
    assert.equal(readFileSync(`${venv}.failed`, 'utf8').trim(), said.replace('framework tests will fail: ', ''));
    assert.throws(() => frameworkPython(venv), /^Error: the Python frameworks are missing: pip could not reach the package index/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
