// A log file with size-based rotation: onebot-relay.log, then onebot-relay.1.log (newest) up to
// onebot-relay.5.log. Written asynchronously, one batch at a time, behind a BoundedWriter.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { formatLine, type OutputTarget } from './log.ts';

/** Old files kept beside the current one. */
export const LOG_FILES_KEPT = 5;

export class RotatingFile implements OutputTarget {
  private handle: FileHandle | undefined;
  private size: number;

  /** Opens (creates) the file now, so that a path that cannot be written is known at start. */
  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly keep = LOG_FILES_KEPT,
  ) {
    const fd = openSync(path, 'a');
    this.size = fstatSync(fd).size;
    closeSync(fd);
  }

  /** The name of the n-th old file: onebot-relay.log → onebot-relay.1.log. */
  rotated(n: number): string {
    const ext = extname(this.path);
    return ext ? `${this.path.slice(0, -ext.length)}.${n}${ext}` : `${this.path}.${n}`;
  }

  write(chunk: string, done: (err?: Error) => void): void {
    this.append(Buffer.from(chunk, 'utf8')).then(
      () => done(),
      (err: Error) => done(err),
    );
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async append(data: Buffer): Promise<void> {
    if (this.size > 0 && this.size + data.length > this.maxBytes) await this.rotate();
    this.handle ??= await open(this.path, 'a');
    let offset = 0;
    while (offset < data.length) offset += (await this.handle.write(data, offset)).bytesWritten;
    this.size += data.length;
  }

  private async rotate(): Promise<void> {
    await this.close();
    try {
      await rm(this.rotated(this.keep), { force: true });
      for (let n = this.keep - 1; n >= 1; n--) await rename(this.rotated(n), this.rotated(n + 1)).catch(ignoreMissing);
      await rename(this.path, this.rotated(1));
      this.size = 0;
    } catch (err) {
      // Windows refuses to rename a file another program holds open without sharing: keep appending,
      // say so in the file, and try again after another maxBytes.
      this.size = 0;
      this.handle = await open(this.path, 'a');
      await this.handle.write(`${formatLine('warn', 'log', `could not rotate ${this.path}: ${(err as Error).message}`)}\n`);
    }
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
