// Leveled, scoped logger writing readable lines to a sink. The default sink is the console through a
// bounded asynchronous writer: a console that stops taking output (a Windows console with a QuickEdit
// selection blocks every write to it) costs dropped, counted lines, never a stalled relay.
import { Worker } from 'node:worker_threads';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(scope: string): Logger;
  /** Changes level and format for this logger and all its children at once (a reload needs no restart). */
  configure(level: Level, format: LogFormat): void;
}

export type LogSink = (line: string) => void;

/** text: for people at a console; json: one object a line, for log shippers. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

interface LogOptions {
  min: number;
  format: LogFormat;
}

export function createLogger(level: Level, sink: LogSink = consoleSink, format: LogFormat = 'text'): Logger {
  return scopedLogger({ min: LEVELS.indexOf(level), format }, sink, 'relay');
}

function scopedLogger(options: LogOptions, sink: LogSink, scope: string): Logger {
  const at = (lvl: Level) => (message: string) => {
    if (LEVELS.indexOf(lvl) < options.min) return;
    sink(formatLine(lvl, scope, message, options.format));
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (child) => scopedLogger(options, sink, child),
    configure: (level, format) => {
      options.min = LEVELS.indexOf(level);
      options.format = format;
    },
  };
}

export function formatLine(level: Level, scope: string, message: string, format: LogFormat = 'text'): string {
  if (format === 'json') return JSON.stringify({ time: new Date().toISOString(), level, scope, msg: message });
  return `${timestamp()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}`;
}

function timestamp(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Hide credentials in a URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of ['access_token', 'token']) if (u.searchParams.has(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return url;
  }
}

// ---------------------------------------------------------------------------------------------------
// Bounded asynchronous output.

/** Somewhere slow to put text: calls `done` once the chunk is written (or failed). One chunk at a time. */
export interface OutputTarget {
  write(chunk: string, done: (err?: Error) => void): void;
  /** Release what the target holds (a worker, a file). */
  close?(): Promise<void>;
}

export interface BoundedWriterOptions {
  /** Bytes (UTF-16 code units, near enough) waiting at most; lines past this are dropped. */
  limit?: number;
  /** Where the output goes, for the drop summary: "console", "log file". */
  name?: string;
}

/** Lines waiting for an output target beyond this are dropped (and counted), never waited for. */
const OUTPUT_QUEUE_LIMIT = 1024 * 1024;

type Queued = string | { dropped: number };

/**
 * Queues lines for a target and writes them one batch at a time, never blocking the caller. When more
 * than `limit` waits, new lines are dropped; the output then carries, where the gap is, one line that
 * says how many were dropped.
 */
export class BoundedWriter {
  /** Lines dropped since start. */
  dropped = 0;
  private readonly queue: Queued[] = [];
  private queued = 0;
  private writing = false;
  private readonly limit: number;
  private readonly name: string;
  private idle: (() => void)[] = [];
  private closed = false;
  /** The drop summary takes the format of the lines around it: JSON lines for a log shipper stay JSON. */
  private json = false;

  constructor(
    private readonly target: OutputTarget,
    options: BoundedWriterOptions = {},
  ) {
    this.limit = options.limit ?? OUTPUT_QUEUE_LIMIT;
    this.name = options.name ?? 'output';
  }

  /** Queue one line (a newline is added). Never blocks; drops the line if too much is waiting. */
  write(line: string): void {
    if (this.closed) return;
    const size = line.length + 1;
    if (this.queued + size > this.limit) {
      this.dropped++;
      const last = this.queue[this.queue.length - 1];
      if (typeof last === 'object') last.dropped++;
      else this.queue.push({ dropped: 1 });
      return;
    }
    this.queue.push(`${line}\n`);
    this.queued += size;
    this.json = line.startsWith('{');
    this.pump();
  }

  /** Resolves once everything queued is written, or after `timeout` ms, whichever is first. */
  flush(timeout = 1_000): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeout); // keeps the process alive while it waits, on purpose
      const self = this;
      function done() {
        clearTimeout(timer);
        self.idle = self.idle.filter((f) => f !== done);
        resolve();
      }
      this.idle.push(done);
    });
  }

  /** Flush (within `timeout`), then release the target. */
  async close(timeout = 1_000): Promise<void> {
    await this.flush(timeout);
    this.closed = true;
    await this.target.close?.();
  }

  private pump(): void {
    if (this.writing) return;
    if (this.queue.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    const batch = this.queue.splice(0);
    const chunk = batch.map((q) => (typeof q === 'string' ? q : `${this.summary(q.dropped)}\n`)).join('');
    this.queued = 0;
    this.writing = true;
    let finished = false;
    this.target.write(chunk, (err) => {
      if (finished) return;
      finished = true;
      this.writing = false;
      if (err) this.dropped += batch.filter((q) => typeof q === 'string').length;
      this.pump();
    });
  }

  private summary(count: number): string {
    return formatLine(
      'warn',
      'log',
      `${count} log line${count === 1 ? '' : 's'} dropped here: the ${this.name} did not keep up`,
      this.json ? 'json' : 'text',
    );
  }
}

/**
 * Writes to a file descriptor (1: stdout) from a worker thread, so that a write the OS blocks (a Windows
 * console during a QuickEdit selection, a full pipe) blocks only that thread. On a Windows console it
 * writes through a TTY stream (WriteConsoleW: right characters whatever the code page).
 */
export class FdWorkerTarget implements OutputTarget {
  private readonly worker: Worker;
  private readonly callbacks: ((err?: Error) => void)[] = [];
  private failed: Error | undefined;

  constructor(fd: number) {
    this.worker = new Worker(FD_WORKER, { eval: true, workerData: { fd }, execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (err: string | null) => this.callbacks.shift()?.(err ? new Error(err) : undefined));
    this.worker.on('error', (err) => {
      this.failed = err;
      for (const cb of this.callbacks.splice(0)) cb(err);
    });
  }

  write(chunk: string, done: (err?: Error) => void): void {
    if (this.failed) return done(this.failed);
    this.callbacks.push(done);
    this.worker.postMessage(chunk);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

const FD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const fd = workerData.fd;
let tty = null;
if (process.platform === 'win32' && require('node:tty').isatty(fd)) {
  try { tty = new (require('node:tty').WriteStream)(fd); } catch {}
}
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeAll(chunk) {
  let buf = Buffer.from(chunk, 'utf8');
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}
parentPort.on('message', (chunk) => {
  if (tty) return void tty.write(chunk, (err) => parentPort.postMessage(err ? String(err.message) : null));
  try {
    writeAll(chunk);
    parentPort.postMessage(null);
  } catch (err) {
    parentPort.postMessage(String(err.message));
  }
});
`;

let consoleWriter: BoundedWriter | undefined;

/** The process's console output (stdout), bounded and asynchronous; made on first use. */
export function consoleOutput(): BoundedWriter {
  consoleWriter ??= new BoundedWriter(new FdWorkerTarget(1), { name: 'console' });
  return consoleWriter;
}

const consoleSink: LogSink = (line) => consoleOutput().write(line);

/** Wait (at most `timeout` ms) until the console has taken every line logged so far. */
export function flushConsole(timeout = 1_000): Promise<void> {
  return consoleWriter ? consoleWriter.flush(timeout) : Promise.resolve();
}
