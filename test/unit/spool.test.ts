// The spool on its own, on a real folder: what a restart recovers, what acknowledgements and compaction leave,
// torn and damaged records written by hand, a folder that cannot be written (a file in the way, ENOSPC from a
// stand-in file layer and from a tiny tmpfs when one can be mounted), and the fsync policy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Spool, type SpoolFs, type SpoolOptions } from '../../src/spool.ts';
import { encodeRecord } from '../../src/spool-records.ts';
import { mockClock, recordingLogger } from './kit.ts';

/** Once the code that kept records is done: they are written then (in one write). */
const handled = () => new Promise<void>((resolve) => queueMicrotask(resolve));

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'spool-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(dir: string, options: Partial<SpoolOptions> = {}, files: SpoolFs = fs) {
  const logger = recordingLogger();
  const spool = new Spool({ dir, fsync: 100, maxAge: 600_000, ...options }, logger.log, files);
  return { spool, ...logger };
}

/** Open the folder again, as a restarted relay does, and say what each key recovers. */
function reopen(dir: string, key = 'reverse ws://a/ 10001/universal', options: Partial<SpoolOptions> = {}) {
  const again = open(dir, options);
  const texts = again.spool
    .target(key)
    .takeRecovered()
    .map((e) => e.text);
  return { ...again, texts };
}

function texts(n: number, from = 1): string[] {
  return Array.from({ length: n }, (_, i) => `{"n":${from + i}}`);
}

const KEY = 'reverse ws://a/ 10001/universal';

/** The segment files of the only target in `dir`. */
function segments(dir: string): string[] {
  const [folder] = fs.readdirSync(dir);
  return fs
    .readdirSync(join(dir, folder!))
    .filter((f) => f.endsWith('.seg'))
    .map((f) => join(dir, folder!, f));
}

describe('Spool: what a restart recovers', () => {
  it('recovers every event not acknowledged, in order, with its time, and numbers new ones after them', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    const target = spool.target(KEY);
    const seqs = texts(5).map((text, i) => target.append(text, 1000 + i));
    target.ack(seqs[1]!);
    spool.close();

    const again = open(dir);
    const back = again.spool.target(KEY);
    assert.deepEqual(
      back.takeRecovered().map((e) => [e.text, e.at]),
      [
        ['{"n":3}', 1002],
        ['{"n":4}', 1003],
        ['{"n":5}', 1004],
      ],
    );
    assert.ok(back.append('{"n":6}', 2000) > seqs[4]!, 'numbers go on after the recovered ones');
    assert.deepEqual(again.messages('info'), [`spool of ${KEY}: recovered 3 event(s) kept before the relay stopped`]);
  });

  it('recovers nothing once everything was acknowledged: a clean restart after a full replay replays nothing', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    const target = spool.target(KEY);
    let last = 0;
    for (const text of texts(100)) last = target.append(text, Date.now());
    target.ack(last);
    spool.close();
    assert.deepEqual(reopen(dir).texts, []);
    assert.deepEqual(reopen(dir).texts, [], 'nor after a second restart');
  });

  it('keeps each target apart and lists the targets it has on disk by key', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    spool.target('ws 127.0.0.1:6710 10001/bot').append('a', 1);
    spool.target('ws 127.0.0.1:6710 10001/other').append('b', 1);
    spool.target('post http://x/ 10001').append('c', 1);
    assert.equal(spool.target('post http://x/ 10001'), spool.target('post http://x/ 10001'), 'one spool per key');
    spool.close();
    const again = open(dir).spool;
    assert.deepEqual(again.keys('ws 127.0.0.1:6710 ').sort(), ['ws 127.0.0.1:6710 10001/bot', 'ws 127.0.0.1:6710 10001/other']);
    assert.deepEqual(
      again
        .target('ws 127.0.0.1:6710 10001/other')
        .takeRecovered()
        .map((e) => e.text),
      ['b'],
    );
    assert.deepEqual(
      again
        .target('new target')
        .takeRecovered()
        .map((e) => e.text),
      [],
    );
  });

  it('removes at start what is too old to replay, and folders that name no target; a target stays known', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    spool.target('old').append('a', 1);
    spool.target('young').append('b', 1);
    spool.close();
    const [oldFolder] = fs.readdirSync(dir).filter((f) => fs.readFileSync(join(dir, f, 'target'), 'utf8') === 'old');
    const longAgo = new Date(Date.now() - 700_000);
    for (const file of fs.readdirSync(join(dir, oldFolder!))) fs.utimesSync(join(dir, oldFolder!, file), longAgo, longAgo);
    fs.mkdirSync(join(dir, 'stray'));
    fs.writeFileSync(join(dir, 'README.txt'), 'not the spool’s');
    const again = open(dir).spool;
    assert.deepEqual(again.keys().sort(), ['old', 'young']);
    assert.deepEqual(fs.readdirSync(join(dir, oldFolder!)), ['target'], 'its events expired, its key stays');
    assert.deepEqual(
      again
        .target('old')
        .takeRecovered()
        .map((e) => e.text),
      [],
    );
    assert.deepEqual(
      again
        .target('young')
        .takeRecovered()
        .map((e) => e.text),
      ['b'],
    );
    assert.ok(!fs.existsSync(join(dir, 'stray')));
    assert.ok(fs.existsSync(join(dir, 'README.txt')), 'a file that is not a folder is not the spool’s');
  });

  it('knows a target it was told to claim, with nothing kept, after a restart; forgets one removed', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    spool.target('ws 127.0.0.1:6710 /bot').claim();
    spool.target('ws 127.0.0.1:6710 /gone').claim();
    spool.target('ws 127.0.0.1:6710 /gone').remove();
    spool.target('ws 127.0.0.1:6710 /quiet'); // never claimed nor kept for
    spool.close();
    assert.deepEqual(open(dir).spool.keys('ws 127.0.0.1:6710 '), ['ws 127.0.0.1:6710 /bot']);
  });
});

describe('Spool: events taken out and put back', () => {
  it('replays an event that came back unsent in its place, and not one taken out for good', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir, { segmentBytes: 200 });
    const target = spool.target(KEY);
    const [s1, s2, s3] = texts(3).map((text, i) => target.append(text, 100 + i)) as [number, number, number];
    target.ack(s1);
    target.ack(s2); // both taken out to be sent...
    target.requeue({ seq: s1, at: 100, text: '{"n":1}' }); // ...the first came back unsent
    target.append('{"n":4}', 103);
    spool.close();
    const recovered = open(dir).spool.target(KEY).takeRecovered();
    assert.deepEqual(
      recovered.map((e) => e.text),
      ['{"n":1}', '{"n":3}', '{"n":4}'],
    );
    assert.deepEqual(
      recovered.map((e) => [e.seq, e.at]),
      [
        [s1, 100],
        [s3, 102],
        [s3 + 1, 103],
      ],
    );
  });

  it('keeps the segment of an event put back until it is done again', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir, { segmentBytes: 300 });
    const target = spool.target(KEY);
    const seqs = texts(30).map((text) => target.append(text, 1));
    target.ack(seqs[0]!);
    target.requeue({ seq: seqs[0]!, at: 1, text: '{"n":1}' });
    target.ack(seqs[28]!);
    spool.close();
    assert.deepEqual(reopen(dir).texts, ['{"n":30}'], 'the ack after the requeue covers it');
  });
});

describe('Spool: segments and compaction', () => {
  it('rolls to new segments and removes those whose events are all done, so the disk holds what is kept', async (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir, { segmentBytes: 1000 });
    const target = spool.target(KEY);
    const seqs: number[] = [];
    for (const text of texts(300)) {
      seqs.push(target.append(text, 1));
      if (seqs.length > 20) target.ack(seqs[seqs.length - 21]!); // 20 kept at any time
      await handled(); // each event from a read of its own
    }
    assert.ok(segments(dir).length <= 3, `${segments(dir).length} segments for 20 events`);
    assert.ok(target.bytes < 3000, `${target.bytes} bytes on disk`);
    spool.close();
    assert.deepEqual(reopen(dir).texts, texts(20, 281));
  });

  it('writes records together once the code that kept them is done, and starts a fresh segment once everything is done and the one written to is big', async (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    const target = spool.target(KEY);
    let last = 0;
    for (const text of texts(2000)) last = target.append(`${text}${' '.repeat(50)}`, 1);
    assert.equal(target.bytes, 0, 'not yet: the code that keeps them goes on');
    await handled();
    assert.ok(target.bytes > 64 * 1024);
    target.ack(last);
    assert.ok(target.bytes < 100, `${target.bytes} bytes left`);
    assert.equal(segments(dir).length, 1);
  });

  it('writes at once what flush() is asked to, before the code that kept it is done', (t) => {
    const dir = tempDir(t);
    const { spool } = open(dir);
    const target = spool.target(KEY);
    const seq = target.append('{"n":1}', 1);
    target.ack(seq);
    assert.equal(target.bytes, 0);
    target.flush();
    const written = target.bytes;
    assert.ok(written > 0, 'on disk now');
    spool.close();
    assert.deepEqual(reopen(dir).texts, [], 'the acknowledgement with it');
  });
});

describe('Spool: torn and damaged records', () => {
  /** Five events in one segment, the file closed. */
  function fiveEvents(t: TestContext) {
    const dir = tempDir(t);
    const { spool } = open(dir);
    const target = spool.target(KEY);
    for (const text of texts(5)) target.append(text, 1);
    spool.close();
    const [segment] = segments(dir);
    return { dir, segment: segment! };
  }

  for (const [what, tear] of [
    ['half a record header', (r: Buffer) => r.subarray(0, 5)],
    ['a record without its last bytes', (r: Buffer) => r.subarray(0, r.length - 3)],
    ['zeros where a record should be (a file grown, never written)', (r: Buffer) => Buffer.alloc(r.length)],
  ] as const) {
    it(`cuts off ${what} at the end, keeps everything before it, and writes on after it`, (t) => {
      const { dir, segment } = fiveEvents(t);
      const intact = fs.statSync(segment).size;
      fs.appendFileSync(segment, tear(encodeRecord({ kind: 'event', seq: 6, at: 1, text: '{"n":6}' })));
      const { spool, texts: back, messages } = reopen(dir);
      assert.deepEqual(back, texts(5));
      assert.match(messages('warn')[0]!, /^spool of .*: 0+1\.seg ends with .* at byte \d+: cutting it off there/);
      assert.equal(fs.statSync(segment).size, intact, 'the torn tail is cut off the file');
      spool.target(KEY).append('{"n":7}', 1);
      spool.close();
      assert.deepEqual(reopen(dir).texts, [...texts(5), '{"n":7}']);
    });
  }

  it('stops at a record whose checksum does not match, keeping the ones before it', (t) => {
    const { dir, segment } = fiveEvents(t);
    const file = fs.readFileSync(segment);
    const third = file.indexOf('{"n":3}');
    file[third + 5] = '9'.charCodeAt(0);
    fs.writeFileSync(segment, file);
    const { texts: back, messages } = reopen(dir);
    assert.deepEqual(back, texts(2));
    assert.match(messages('warn')[0]!, /a record whose checksum does not match/);
  });

  it('drops a segment that is not one, and one with only part of its header', (t) => {
    const { dir, segment } = fiveEvents(t);
    fs.writeFileSync(segment.replace(/\d{16}/, '0000000000000099'), 'OBRS');
    fs.writeFileSync(segment, 'hello, not a spool');
    const { texts: back, messages } = reopen(dir);
    assert.deepEqual(back, []);
    assert.equal(messages('warn').length, 2);
    assert.deepEqual(segments(dir), [], 'nothing kept: no segment left on disk');
  });
});

describe('Spool: a folder that cannot be written', () => {
  it('keeps numbering events in memory and warns once when a file stands where the folder should be', (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(join(dir, 'file'), '');
    const { spool, messages } = open(join(dir, 'file', 'spool'));
    const a = spool.target('a');
    const b = spool.target('b');
    assert.deepEqual([a.append('x', 1), a.append('y', 1), b.append('z', 1)], [1, 2, 1]);
    a.ack(2);
    assert.equal(messages('warn').length, 1);
    assert.match(messages('warn')[0]!, /^spool folder .* cannot be written \(ENOTDIR.*\): events for away targets are kept in memory only/);
    assert.equal(spool.problem !== undefined, true);
    assert.deepEqual(spool.keys(), []);
  });

  it('on ENOSPC goes on in memory, removes what it cannot keep up to date, and writes again once all is done', async (t) => {
    const clock = mockClock(t);
    const dir = tempDir(t);
    const disk = failingFs();
    const { spool, messages } = open(dir, {}, disk.fs);
    const a = spool.target('a');
    const b = spool.target('b');
    a.append('a1', 1);
    b.append('b1', 1);
    await handled();
    disk.full = true;
    const a2 = a.append('a2', 1);
    b.append('b2', 1);
    await handled();
    assert.deepEqual(messages('warn'), [
      `spool folder ${dir} cannot be written (ENOSPC: no space left on device, write): events for away targets are kept in memory only (lost if the relay stops) until it can; delivery goes on`,
    ]);
    assert.deepEqual(spool.keys(), [], 'folders removed: what they kept could no longer be acknowledged there');
    disk.full = false;
    a.ack(a2);
    assert.notEqual(spool.problem, undefined, 'not tried again within 10 s');
    const a3 = a.append('a3', 1);
    clock.tick(10_000);
    a.ack(a3);
    assert.equal(spool.problem, undefined, 'everything a kept is done: it starts afresh');
    assert.deepEqual(messages('info'), [`spool folder ${dir} can be written again`]);
    a.append('a4', 1);
    b.append('b3', 1);
    spool.close();
    assert.deepEqual(reopen(dir, 'a').texts, ['a4']);
    assert.deepEqual(reopen(dir).spool.keys(), ['a'], 'b still has events kept in memory only');
  });

  it('never throws, whichever write fails: an event, an acknowledgement, a new segment, a claim', async (t) => {
    mockClock(t);
    for (const failing of ['append', 'ack', 'roll', 'claim'] as const) {
      const dir = tempDir(t);
      const disk = failingFs();
      const { spool, messages } = open(dir, { segmentBytes: 100 }, disk.fs);
      const target = spool.target(KEY);
      const seq = target.append('{"n":1}', 1);
      await handled();
      disk.full = true;
      if (failing === 'append') target.append('{"n":2}', 1);
      if (failing === 'ack') target.ack(seq);
      if (failing === 'roll') for (const text of texts(5)) target.append(text, 1);
      if (failing === 'claim') spool.target('ws 127.0.0.1:6710 /bot').claim();
      await handled();
      target.requeue({ seq, at: 1, text: '{"n":1}' });
      target.ack(seq + 10);
      await handled();
      assert.equal(messages('warn').length, 1, failing);
      spool.close();
    }
  });

  it('on a real ENOSPC (a 64 KiB tmpfs) loses nothing in memory and never throws', async (t) => {
    const dir = join(tempDir(t), 'tmpfs');
    fs.mkdirSync(dir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      t.skip('cannot mount a tmpfs here (needs root); the stand-in file layer covers ENOSPC');
      return;
    }
    try {
      const { spool, messages } = open(dir);
      const target = spool.target(KEY);
      const seqs = texts(2000).map((text) => target.append(`${text}${'x'.repeat(100)}`, 1));
      await handled();
      assert.deepEqual(
        seqs,
        Array.from({ length: 2000 }, (_, i) => i + 1),
      );
      assert.equal(messages('warn').length, 1);
      assert.match(messages('warn')[0]!, /cannot be written \(ENOSPC/);
      spool.close();
    } finally {
      await unmount(dir);
    }
  });
});

describe('Spool: fsync policy', () => {
  it('syncs each target written to once per interval, without waiting, and not at all when idle', async (t) => {
    const clock = mockClock(t);
    const dir = tempDir(t);
    const disk = failingFs();
    const { spool } = open(dir, { fsync: 100 }, disk.fs);
    const target = spool.target(KEY);
    disk.syncs.length = 0;
    for (const text of texts(50)) target.append(text, 1);
    await handled();
    assert.deepEqual(disk.syncs, []);
    clock.tick(100);
    assert.deepEqual(disk.syncs, ['async']);
    clock.tick(500);
    assert.deepEqual(disk.syncs, ['async'], 'nothing new written, nothing synced');
    spool.close();
    assert.deepEqual(disk.syncs, ['async', 'sync'], 'closing syncs');
  });

  it('with fsync 0, syncs after every write before going on', async (t) => {
    const dir = tempDir(t);
    const disk = failingFs();
    const { spool } = open(dir, { fsync: 0 }, disk.fs);
    const target = spool.target(KEY);
    disk.syncs.length = 0;
    target.ack(target.append('a', 1));
    await handled();
    assert.deepEqual(disk.syncs, ['sync'], 'two records at once: one write, one sync');
    target.append('b', 1);
    await handled();
    assert.deepEqual(disk.syncs, ['sync', 'sync']);
    spool.close();
  });
});

/** Unmount, once the files synced and closed in the background are (a few ms; 5 s at most). */
async function unmount(dir: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      return;
    } catch (err) {
      if (tries === 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** node:fs with writes that fail with ENOSPC while `full`, and syncs counted. */
function failingFs() {
  const state = { full: false, syncs: [] as string[] };
  const files: SpoolFs = {
    ...fs,
    writeSync: ((fd: number, buffer: Buffer, offset?: number) => {
      if (state.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return fs.writeSync(fd, buffer, offset);
    }) as typeof fs.writeSync,
    writeFileSync: ((...args: Parameters<typeof fs.writeFileSync>) => {
      if (state.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      fs.writeFileSync(...args);
    }) as typeof fs.writeFileSync,
    fdatasync: ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
      state.syncs.push('async');
      fs.fdatasync(fd, callback);
    }) as typeof fs.fdatasync,
    fdatasyncSync: (fd: number) => {
      state.syncs.push('sync');
      fs.fdatasyncSync(fd);
    },
  };
  return {
    fs: files,
    get syncs() {
      return state.syncs;
    },
    set full(value: boolean) {
      state.full = value;
    },
  };
}
