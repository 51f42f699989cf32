// The durable spool (docs/spool.md): what is kept for each away target, also written to an append-only log of
// segments on disk, so that it survives a restart or a crash. The records a callback makes are written together
// once it is done (written, they are safe from a SIGKILL), and synced to the disk every `fsync` ms. A folder that
// cannot be written costs durability, never delivery: the events stay in memory, with one warning.
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './log.ts';
import { KEY_FILE, type SpoolHost, TargetSpool } from './spool-target.ts';

/** The file operations the spool uses: node:fs, or a test's stand-in that fails on cue. */
export type SpoolFs = Pick<
  typeof nodeFs,
  | 'close'
  | 'closeSync'
  | 'fdatasync'
  | 'fdatasyncSync'
  | 'fsync'
  | 'mkdirSync'
  | 'openSync'
  | 'readdirSync'
  | 'readFileSync'
  | 'renameSync'
  | 'rmSync'
  | 'statSync'
  | 'truncateSync'
  | 'unlinkSync'
  | 'writeFileSync'
  | 'writeSync'
>;

export interface SpoolOptions {
  /** The spool folder; created if missing. */
  dir: string;
  /** Sync to the disk this often, ms: the most a power loss can cost. 0: after every write, waiting (slower). */
  fsync: number;
  /** A target whose files are all older than this, ms, is removed at start: nothing in it would be replayed. */
  maxAge: number;
  /** Start a new segment past this many bytes (old segments go once everything in them is done). */
  segmentBytes?: number;
}

const SEGMENT_BYTES = 4 * 1024 * 1024;
/** A folder that failed is tried again no sooner than this, ms. */
const RETRY_MS = 10_000;

/** A target's folder: its key may hold anything (a URL, a client's name), so a hash of it. */
const folderOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 24);

export class Spool implements SpoolHost {
  private readonly targets = new Map<string, TargetSpool>();
  private readonly dirty = new Set<TargetSpool>();
  private readonly syncTimer: NodeJS.Timeout | undefined;
  /** Why the folder cannot be written now (warned once), if so. */
  problem: string | undefined;
  /** When it last failed. */
  private failedAt = 0;

  constructor(
    readonly options: SpoolOptions,
    private readonly log: Logger,
    readonly fs: SpoolFs = nodeFs,
  ) {
    try {
      fs.mkdirSync(options.dir, { recursive: true });
      this.prune();
    } catch (err) {
      this.failed(err);
    }
    if (options.fsync > 0) {
      this.syncTimer = setInterval(() => this.syncSoon(), options.fsync);
      this.syncTimer.unref();
    }
  }

  /** The keys of the targets with something kept on disk whose key starts with `prefix`. */
  keys(prefix = ''): string[] {
    return this.folders()
      .map((folder) => this.keyIn(folder))
      .filter((key): key is string => key?.startsWith(prefix) ?? false);
  }

  /** One target's spool (the same one for the same key), with what it kept before recovered. */
  target(key: string): TargetSpool {
    let target = this.targets.get(key);
    if (!target) {
      target = new TargetSpool(this, key, join(this.options.dir, folderOf(key)), this.log);
      this.targets.set(key, target);
    }
    return target;
  }

  get segmentBytes(): number {
    return this.options.segmentBytes ?? SEGMENT_BYTES;
  }

  /** As settings see it (piece keys): the folder. */
  toJSON(): string {
    return this.options.dir;
  }

  /** Bytes on disk, over every target. */
  get bytes(): number {
    return [...this.targets.values()].reduce((n, t) => n + t.bytes, 0);
  }

  /** Sync everything written, then close every file. */
  close(): void {
    clearInterval(this.syncTimer);
    for (const target of this.targets.values()) target.close();
    this.targets.clear();
  }

  /** A target wrote: sync it now (fsync 0) or at the next tick of the timer. */
  wrote(target: TargetSpool): void {
    if (this.options.fsync === 0) target.sync();
    else this.dirty.add(target);
  }

  forget(target: TargetSpool): void {
    this.targets.delete(target.key);
    this.dirty.delete(target);
  }

  /** Writing failed: say so once, until it works again. */
  failed(err: unknown): void {
    this.failedAt = Date.now();
    if (this.problem !== undefined) return;
    this.problem = (err as Error).message;
    this.log.warn(
      `spool folder ${this.options.dir} cannot be written (${this.problem}): events for away targets are kept in memory only ` +
        '(lost if the relay stops) until it can; delivery goes on',
    );
  }

  /** Writing works again. */
  recovered(): void {
    if (this.problem === undefined) return;
    this.problem = undefined;
    this.log.info(`spool folder ${this.options.dir} can be written again`);
  }

  /** Not sooner than RETRY_MS after the last failure. */
  mayRetry(): boolean {
    return Date.now() - this.failedAt >= RETRY_MS;
  }

  private syncSoon(): void {
    for (const target of this.dirty) target.syncSoon();
    this.dirty.clear();
  }

  private folders(): string[] {
    try {
      return this.fs.readdirSync(this.options.dir);
    } catch {
      return [];
    }
  }

  private keyIn(folder: string): string | undefined {
    try {
      return this.fs.readFileSync(join(this.options.dir, folder, KEY_FILE), 'utf8') || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Remove folders that name no target, and segments too old to be replayed (every one of a target, or none: they
   * are read in order). A target's folder and key stay: the target is known.
   */
  private prune(): void {
    const now = Date.now();
    for (const folder of this.folders()) {
      const path = join(this.options.dir, folder);
      if (!this.fs.statSync(path).isDirectory()) continue; // not the spool's
      if (this.keyIn(folder) === undefined) {
        this.fs.rmSync(path, { recursive: true, force: true });
        continue;
      }
      const segments = this.fs.readdirSync(path).filter((f) => f.endsWith('.seg'));
      const newest = Math.max(0, ...segments.map((f) => this.fs.statSync(join(path, f)).mtimeMs));
      if (now - newest > this.options.maxAge) for (const f of segments) this.fs.unlinkSync(join(path, f));
    }
  }
}
