// The spool SIGKILLed while it writes: what it said it kept is all there, once, in order, and what was
// acknowledged is not replayed (test/unit/spool-writer.ts is the process killed).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log.ts';
import { Spool } from '../../src/spool.ts';
import { waitFor } from '../helpers.ts';

const KEY = 'reverse ws://127.0.0.1:8080/ 10001/universal';
const LAG = 100;
const WRITER = fileURLToPath(new URL('./spool-writer.ts', import.meta.url));

for (const at of [3_000, 20_000]) {
  it(`loses and repeats nothing kept when SIGKILLed after ${at} events`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, KEY, String(LAG)], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let said = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (const [, n] of d.toString().matchAll(/kept (\d+)/g)) said = Number(n);
    });
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(() => said >= at || exited, `the writer to keep ${at} events`, 20_000);
    assert.equal(exited, false, 'the writer is still running');
    child.kill('SIGKILL');
    await waitFor(() => exited, 'the writer to die');

    const spool = new Spool({ dir, fsync: 100, maxAge: 600_000 }, createLogger('error'));
    const numbers = spool
      .target(KEY)
      .takeRecovered()
      .map((e) => (JSON.parse(e.text) as { n: number }).n);
    spool.close();
    const last = numbers.at(-1)!;
    assert.ok(last >= said, `the last event it said it kept (${said}) is there (last: ${last})`);
    assert.ok(numbers.length >= LAG && numbers.length <= LAG + 1, `${numbers.length} events not acknowledged`);
    assert.deepEqual(
      numbers,
      Array.from({ length: numbers.length }, (_, i) => last - numbers.length + 1 + i),
      'in order, each once, none missing',
    );
  });
}
