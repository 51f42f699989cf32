// Log output that can never stall the relay: bounded asynchronous writers, the console worker, rotation.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BoundedWriter, createLogger, FdWorkerTarget, type OutputTarget } from '../src/log.ts';
import { LOG_FILES_KEPT, RotatingFile } from '../src/log-file.ts';

/** A target that takes one chunk and then never finishes writing it, until released. */
class StuckTarget implements OutputTarget {
  readonly chunks: string[] = [];
  private pending: ((err?: Error) => void) | undefined;
  stuck = true;
  write(chunk: string, done: (err?: Error) => void): void {
    this.chunks.push(chunk);
    if (this.stuck) this.pending = done;
    else done();
  }
  release(): void {
    this.stuck = false;
    const done = this.pending;
    this.pending = undefined;
    done?.();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'onebot-relay-log-'));

describe('bounded writer', () => {
  it('never blocks on a target that never drains: lines past the limit are dropped and counted', async () => {
    const target = new StuckTarget();
    const writer = new BoundedWriter(target, { limit: 10_000, name: 'console' });
    const started = Date.now();
    for (let i = 0; i < 100_000; i++) writer.write(`line ${i} ${'x'.repeat(40)}`);
    assert.ok(Date.now() - started < 1_000, `100,000 writes took ${Date.now() - started} ms`);
    assert.equal(target.chunks.length, 1, 'one chunk in flight, the rest queued');
    assert.ok(writer.dropped > 99_000, `dropped ${writer.dropped}`);
    // The event loop is free while the target is stuck.
    await new Promise((r) => setImmediate(r));
    // flush gives up after its timeout instead of waiting for ever.
    const flushStarted = Date.now();
    await writer.flush(100);
    assert.ok(Date.now() - flushStarted < 1_000);
  });

  it('reports the drops, where the gap is, once the target drains again', async () => {
    const target = new StuckTarget();
    const writer = new BoundedWriter(target, { limit: 200, name: 'console' });
    writer.write('first'); // in flight
    for (let i = 0; i < 20; i++) writer.write(`queued ${i} ${'y'.repeat(20)}`);
    const dropped = writer.dropped;
    assert.ok(dropped > 0);
    target.release();
    await writer.flush(1_000);
    writer.write('after');
    await writer.flush(1_000);
    const text = target.chunks.join('');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], 'first');
    const summary = lines.findIndex((l) => / WARN {2}\[log\] \d+ log lines dropped here: the console did not keep up$/.test(l));
    assert.ok(summary > 1, `a summary line in ${JSON.stringify(lines)}`);
    assert.match(lines[summary]!, new RegExp(` ${dropped} log lines dropped`));
    assert.equal(lines[lines.length - 1], 'after');
    assert.ok(
      lines.slice(1, summary).every((l) => l.startsWith('queued ')),
      'the lines kept come before the gap',
    );
  });

  it('writes the drop summary as JSON among JSON lines', async () => {
    const target = new StuckTarget();
    const writer = new BoundedWriter(target, { limit: 200, name: 'log file' });
    for (let i = 0; i < 20; i++) writer.write(JSON.stringify({ level: 'info', msg: `line ${i}` }));
    target.release();
    await writer.flush(1_000);
    const lines = target.chunks.join('').trimEnd().split('\n');
    const summary = JSON.parse(lines.at(-1)!);
    assert.equal(summary.level, 'warn');
    assert.match(summary.msg, /\d+ log lines dropped here: the log file did not keep up/);
  });

  it('counts the lines of a failed write as dropped and goes on', async () => {
    let calls = 0;
    const written: string[] = [];
    const writer = new BoundedWriter({
      write(chunk, done) {
        if (calls++ === 0) return done(new Error('EPIPE'));
        written.push(chunk);
        done();
      },
    });
    writer.write('lost');
    await writer.flush();
    writer.write('kept');
    await writer.flush();
    assert.equal(writer.dropped, 1);
    assert.deepEqual(written, ['kept\n']);
  });
});

describe('console worker', () => {
  it('writes lines in order to a file descriptor', async () => {
    const path = join(tmp, 'fd-out.txt');
    const fd = openSync(path, 'w');
    const target = new FdWorkerTarget(fd);
    const writer = new BoundedWriter(target);
    for (let i = 0; i < 1000; i++) writer.write(`line ${i} 你好`);
    await writer.flush(5_000);
    await writer.close();
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], 'line 999 你好');
    assert.equal(writer.dropped, 0);
  });

  it('keeps the event loop running while the output blocks for good (a pipe nobody reads)', {
    skip: process.platform === 'win32',
  }, async () => {
    const fifo = join(tmp, 'stuck.fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+'); // never read from: once its buffer is full, every write blocks
    const writer = new BoundedWriter(new FdWorkerTarget(fd), { limit: 256 * 1024 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const line = 'z'.repeat(200);
    const started = Date.now();
    while (Date.now() - started < 1_000) {
      for (let i = 0; i < 200; i++) writer.write(line);
      await new Promise((r) => setTimeout(r, 1));
    }
    clearInterval(ticker);
    assert.ok(ticks > 50, `the event loop ran (${ticks} ticks of 5 ms in 1 s)`);
    assert.ok(writer.dropped > 0, 'lines were dropped');
    // Unblock the worker (drain the pipe) so that it can be stopped.
    const cat = spawn('cat', [fifo], { stdio: 'ignore' });
    const catExited = new Promise((r) => cat.on('exit', r));
    await writer.close(200);
    closeSync(fd);
    await catExited;
  });
});

describe('rotating log file', () => {
  it('starts a new file at the size limit and keeps five old ones, newest first', async () => {
    const dir = mkdtempSync(join(tmp, 'rotate-'));
    const path = join(dir, 'onebot-relay.log');
    const file = new RotatingFile(path, 1_000);
    assert.ok(existsSync(path), 'created at start');
    const writer = new BoundedWriter(file, { name: 'log file' });
    for (let i = 0; i < 400; i++) {
      writer.write(`line ${String(i).padStart(4, '0')} ${'r'.repeat(30)}`);
      if (i % 7 === 0) await writer.flush();
    }
    await writer.close();
    const names = readdirSync(dir).sort();
    assert.deepEqual(names, [
      'onebot-relay.1.log',
      'onebot-relay.2.log',
      'onebot-relay.3.log',
      'onebot-relay.4.log',
      'onebot-relay.5.log',
      'onebot-relay.log',
    ]);
    assert.equal(LOG_FILES_KEPT, 5);
    for (const name of names) assert.ok(statSync(join(dir, name)).size <= 1_000, `${name} is ${statSync(join(dir, name)).size} bytes`);
    // Oldest to newest, the lines run on without a gap.
    const order = [
      'onebot-relay.5.log',
      'onebot-relay.4.log',
      'onebot-relay.3.log',
      'onebot-relay.2.log',
      'onebot-relay.1.log',
      'onebot-relay.log',
    ];
    const numbers = order.flatMap((name) => readFileSync(join(dir, name), 'utf8').trimEnd().split('\n')).map((l) => Number(l.slice(5, 9)));
    assert.equal(numbers[numbers.length - 1], 399);
    for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1]! + 1);
  });

  it('appends to an existing file and counts its size', async () => {
    const dir = mkdtempSync(join(tmp, 'append-'));
    const path = join(dir, 'relay.log');
    for (const run of [1, 2]) {
      const writer = new BoundedWriter(new RotatingFile(path, 10_000));
      writer.write(`run ${run}`);
      await writer.close();
    }
    assert.equal(readFileSync(path, 'utf8'), 'run 1\nrun 2\n');
  });

  it('fails at start, not later, for a path that cannot be written', () => {
    assert.throws(() => new RotatingFile(join(tmp, 'no-such-dir', 'x.log'), 10_000), /ENOENT/);
  });
});

describe('log formats', () => {
  it('writes readable lines, or one JSON object a line, with levels and scopes', () => {
    const lines: string[] = [];
    const text = createLogger('info', (l) => lines.push(l));
    text.child('upstream').warn('upstream down: code 1006');
    text.debug('not shown at info');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} WARN {2}\[upstream\] upstream down: code 1006$/);
    const json = createLogger('debug', (l) => lines.push(l), 'json');
    json.child('calls').error('a "quoted" message');
    const entry = JSON.parse(lines[1]!) as Record<string, string>;
    assert.deepEqual(
      { level: entry.level, scope: entry.scope, msg: entry.msg },
      { level: 'error', scope: 'calls', msg: 'a "quoted" message' },
    );
    assert.ok(!Number.isNaN(Date.parse(entry.time!)));
  });
});
