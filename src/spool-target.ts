// One target's log in the spool (docs/spool.md): an event is appended when it is kept, acknowledged when it is
// taken out to be sent or dropped, and appended again when it comes back unsent. An event is replayed after a
// restart when no acknowledgement covers it later in the log.
import { join } from 'node:path';
import { atCallbackEnd } from './callback-end.ts';
import type { Logger } from './log.ts';
import type { SpoolFs } from './spool.ts';
import { decodeSegment, encodeRecord, SEGMENT_MAGIC, type SpoolRecord } from './spool-records.ts';

/** An event recovered from the spool, or kept in it. */
export interface SpooledEvent {
  seq: number;
  at: number;
  text: string;
}

/** What a target's log needs of the spool folder it is in. */
export interface SpoolHost {
  readonly fs: SpoolFs;
  /** Bytes past which a new segment starts. */
  readonly segmentBytes: number;
  /** Why the folder cannot be written, if it cannot. */
  readonly problem: string | undefined;
  /** Something was written: sync it (now, or soon). */
  wrote(target: TargetSpool): void;
  failed(err: unknown): void;
  /** Writing worked again after a failure. */
  recovered(): void;
  /** A failed folder may be tried again now. */
  mayRetry(): boolean;
  forget(target: TargetSpool): void;
}

/** The file in each target's folder that names the target. */
export const KEY_FILE = 'target';
const SEGMENT = /^(\d{16})\.seg$/;
/** Once everything is done, a segment this big is replaced by an empty one. */
const RESET_BYTES = 64 * 1024;

const segmentName = (n: number) => `${String(n).padStart(16, '0')}.seg`;

interface Segment {
  /** Segments are numbered in the order they are written. */
  number: number;
  /** The highest event sequence number in it (0: none). */
  lastSeq: number;
  bytes: number;
}

export class TargetSpool {
  /** What was kept before this start and not done with, oldest first (until taken). */
  private recovered: SpooledEvent[] = [];
  private segments: Segment[] = [];
  private fd: number | undefined;
  private nextSeq = 1;
  /** Every event up to this one is done with. */
  private acked = 0;
  /** The newest event kept. */
  private lastSeq = 0;
  /** Not written to disk (the folder failed): events are numbered and kept in memory only. */
  private broken = false;
  /** Records kept by the callback running now, written together once it is done (see write). */
  private unwritten: Buffer[] = [];
  /** The newest event among them (0: none). */
  private unwrittenSeq = 0;

  constructor(
    private readonly spool: SpoolHost,
    readonly key: string,
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    if (spool.problem !== undefined) {
      this.broken = true;
      return;
    }
    this.guard(() => {
      this.recover();
      // Nothing kept: no segments until something is (the folder and its key stay: the target is known).
      if (this.recovered.length) this.roll();
      else this.removeSegments();
    });
  }

  /** What was kept before this start and not done with, oldest first: given once. */
  takeRecovered(): SpooledEvent[] {
    const recovered = this.recovered;
    this.recovered = [];
    return recovered;
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Keep an event: its sequence number is what ack() takes. */
  append(text: string, at: number): number {
    const seq = this.nextSeq++;
    this.lastSeq = seq;
    this.write({ kind: 'event', seq, at, text });
    return seq;
  }

  /** Every event up to `seq` is done with (taken out to be sent, or dropped): it is not replayed after a restart. */
  ack(seq: number): void {
    if (seq <= this.acked) return;
    this.acked = seq;
    if (this.broken) {
      if (this.acked >= this.lastSeq && this.spool.mayRetry()) this.guard(() => this.restart());
      return;
    }
    if (this.fd === undefined && !this.unwritten.length) return;
    this.write({ kind: 'ack', seq });
    // Segments it finishes go once it is written (flush): a crash before that finds them as the log says.
    if (this.acked >= this.lastSeq && (this.segments.at(-1)?.bytes ?? 0) > RESET_BYTES) this.guard(() => this.roll());
  }

  /** An event taken out came back unsent (its target was not there after all): it is kept again, where it was. */
  requeue(event: SpooledEvent): void {
    this.acked = Math.min(this.acked, event.seq - 1);
    this.write({ kind: 'event', ...event });
  }

  /**
   * The target is known from now on, kept for or not: a restart finds it (a named client connected when the relay
   * dies is away after the restart, so that what comes before it reconnects is kept for it).
   */
  claim(): void {
    if (!this.broken) this.guard(() => this.create());
  }

  /** The target is forgotten: its files go. */
  remove(): void {
    this.close();
    this.spool.forget(this);
    this.guard(() => this.fs.rmSync(this.dir, { recursive: true, force: true }));
  }

  /** Sync and close the file written to. */
  close(): void {
    this.flush();
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    this.guard(() => {
      try {
        this.fs.fdatasyncSync(fd);
      } finally {
        this.fs.closeSync(fd);
      }
    });
  }

  /** Sync now, waiting (fsync 0, and before a segment is closed). */
  sync(): void {
    this.flush();
    const fd = this.fd;
    if (fd !== undefined) this.guard(() => this.fs.fdatasyncSync(fd));
  }

  /** Sync without waiting (the timer). */
  syncSoon(): void {
    if (this.fd === undefined) return;
    this.fs.fdatasync(this.fd, (err) => {
      if (err && err.code !== 'EBADF') this.fail(err);
    });
  }

  private get fs(): SpoolFs {
    return this.spool.fs;
  }

  /** Read every segment, cut off what is torn or damaged, and keep what is not done with. */
  private recover(): void {
    let names: string[];
    try {
      names = this.fs.readdirSync(this.dir).filter((n) => SEGMENT.test(n));
    } catch {
      return; // a new target
    }
    const pending = new PendingEvents();
    let lastSeen = 0;
    for (const name of names.sort()) {
      const path = join(this.dir, name);
      const { records, goodBytes, damage } = decodeSegment(this.fs.readFileSync(path));
      if (damage) {
        this.log.warn(`spool of ${this.key}: ${name} ends with ${damage}: cutting it off there (what follows is lost)`);
        if (goodBytes === 0) this.fs.unlinkSync(path);
        else this.fs.truncateSync(path, goodBytes);
      }
      if (goodBytes === 0) continue;
      let lastSeq = 0;
      for (const record of records) {
        if (record.kind === 'event') {
          pending.add(record);
          lastSeq = Math.max(lastSeq, record.seq);
        } else pending.ack(record.seq);
        lastSeen = Math.max(lastSeen, record.seq);
      }
      this.segments.push({ number: Number(SEGMENT.exec(name)![1]), lastSeq, bytes: goodBytes });
    }
    this.recovered.push(...pending.events());
    this.nextSeq = lastSeen + 1;
    this.acked = (this.recovered[0]?.seq ?? this.nextSeq) - 1;
    this.lastSeq = this.recovered.at(-1)?.seq ?? this.acked;
    if (this.recovered.length)
      this.log.info(`spool of ${this.key}: recovered ${this.recovered.length} event(s) kept before the relay stopped`);
  }

  /** The target's folder, named by its key file, before its first segment. */
  private create(): void {
    this.fs.mkdirSync(this.dir, { recursive: true });
    const keyFile = join(this.dir, KEY_FILE);
    this.fs.writeFileSync(`${keyFile}.new`, this.key);
    this.fs.renameSync(`${keyFile}.new`, keyFile);
  }

  /** Start a new segment with the acknowledgements so far, and remove the segments everything in which is done. */
  private roll(): void {
    this.flush();
    this.closeBehind();
    const number = (this.segments.at(-1)?.number ?? 0) + 1;
    this.fd = this.fs.openSync(join(this.dir, segmentName(number)), 'w');
    const start = Buffer.concat([SEGMENT_MAGIC, encodeRecord({ kind: 'ack', seq: this.acked })]);
    this.writeAll(start);
    this.segments.push({ number, lastSeq: 0, bytes: start.length });
    this.syncFolder();
    this.removeDone();
  }

  /** After a failure, with nothing left to keep: start afresh, and say so if the folder takes it. */
  private restart(): void {
    this.fs.rmSync(this.dir, { recursive: true, force: true });
    this.segments = [];
    this.broken = false;
    this.create();
    this.roll();
    this.spool.recovered();
  }

  private removeSegments(): void {
    for (const segment of this.segments) this.fs.unlinkSync(join(this.dir, segmentName(segment.number)));
    this.segments = [];
  }

  /** Remove every segment but the one written to whose events are all done. */
  private removeDone(): void {
    while (this.segments.length > 1 && this.segments[0]!.lastSeq <= this.acked) {
      this.fs.unlinkSync(join(this.dir, segmentName(this.segments.shift()!.number)));
    }
  }

  /**
   * A record goes to the log once the callback that kept it is done, after what it sends to clients (they never wait
   * for the disk), with the callback's other records, in one write. The relay handles nothing else before that write
   * (not a status request, not another read), so a SIGKILL loses nothing it kept.
   */
  private write(record: SpoolRecord): void {
    if (this.broken) return;
    if (!this.unwritten.length) atCallbackEnd('store', () => this.flush());
    this.unwritten.push(encodeRecord(record));
    if (record.kind === 'event') this.unwrittenSeq = Math.max(this.unwrittenSeq, record.seq);
  }

  /** Write what was kept now, not once the callback is done; a segment grown past its size is followed by a new one. */
  flush(): void {
    if (!this.unwritten.length) return;
    const bytes = this.unwritten.length === 1 ? this.unwritten[0]! : Buffer.concat(this.unwritten);
    const lastSeq = this.unwrittenSeq;
    this.unwritten = [];
    this.unwrittenSeq = 0;
    if (this.broken) return;
    this.guard(() => {
      if (this.fd === undefined) {
        this.create();
        this.roll();
      }
      this.writeAll(bytes);
      const active = this.segments.at(-1)!;
      active.bytes += bytes.length;
      active.lastSeq = Math.max(active.lastSeq, lastSeq);
      this.spool.wrote(this);
      if (active.bytes > this.spool.segmentBytes) this.roll();
      else this.removeDone();
    });
  }

  private writeAll(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) at += this.fs.writeSync(this.fd!, bytes, at);
  }

  /**
   * Close the segment written to without waiting for the disk (delivery must not wait): synced first in the
   * background unless everything in it is done.
   */
  private closeBehind(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    if (this.acked >= this.lastSeq) this.fs.closeSync(fd);
    else this.fs.fdatasync(fd, () => this.fs.close(fd, () => {}));
  }

  /** A new or removed file survives a power loss once its folder is synced: in the background, where the OS can. */
  private syncFolder(): void {
    let fd: number;
    try {
      fd = this.fs.openSync(this.dir, 'r');
    } catch {
      return; // Windows cannot open a folder; its file system journals the names.
    }
    this.fs.fsync(fd, () => this.fs.close(fd, () => {}));
  }

  /** Run a file operation; a failure makes this target memory-only. */
  private guard(operation: () => void): void {
    try {
      operation();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Memory only from now on. What is on disk is removed if it can be: events sent from now on could not be
   * acknowledged there, and would be replayed a second time after a restart.
   */
  private fail(err: unknown): void {
    this.spool.failed(err);
    this.broken = true;
    if (this.fd !== undefined) {
      try {
        this.fs.closeSync(this.fd);
      } catch {}
      this.fd = undefined;
    }
    this.segments = [];
    try {
      this.fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {}
  }
}

/** Events read back in log order: an acknowledgement takes out every event before it up to its number. */
class PendingEvents {
  /** By sequence number; those before `first` are done. */
  private list: SpooledEvent[] = [];
  private first = 0;

  add({ seq, at, text }: SpooledEvent): void {
    const last = this.list.at(-1);
    if (this.first === this.list.length || (last !== undefined && seq > last.seq)) {
      this.list.push({ seq, at, text });
      return;
    }
    // Appended again (it came back unsent): back in its place.
    this.list = this.list.slice(this.first).filter((e) => e.seq !== seq);
    this.first = 0;
    const at_ = this.list.findIndex((e) => e.seq > seq);
    this.list.splice(at_ < 0 ? this.list.length : at_, 0, { seq, at, text });
  }

  ack(seq: number): void {
    while (this.first < this.list.length && this.list[this.first]!.seq <= seq) this.first++;
  }

  events(): SpooledEvent[] {
    return this.list.slice(this.first);
  }
}
