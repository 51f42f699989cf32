// A process that keeps events in a spool as fast as it can, for test/unit/spool-crash.test.ts to SIGKILL.
// Usage: spool-writer.ts DIR KEY LAG. Each event is acknowledged LAG events later. It keeps 50 events a turn of the
// event loop and prints "kept N" at the start of the next: event N and all before it were written by then.
import { createLogger } from '../../src/log.ts';
import { Spool } from '../../src/spool.ts';

const [dir, key, lag] = process.argv.slice(2) as [string, string, string];
const spool = new Spool({ dir, fsync: 100, maxAge: 600_000, segmentBytes: 16 * 1024 }, createLogger('warn'));
const target = spool.target(key);
const seqs: number[] = [];
function burst(): void {
  process.stdout.write(`kept ${seqs.length}\n`);
  for (let i = 0; i < 50; i++) {
    const n = seqs.length + 1;
    seqs.push(target.append(JSON.stringify({ n, pad: 'x'.repeat(n % 97) }), Date.now()));
    if (n > Number(lag)) target.ack(seqs[n - Number(lag) - 1]!);
  }
  setImmediate(burst);
}
burst();
