// The fake implementation as a process of its own, so that a test can SIGKILL or SIGSTOP it.
// Usage: impl-child.ts PORT FIRST_NUMBER. Prints "ready PORT". Reads lines from stdin:
//   "emit N": sends N numbered events to every socket; prints "emitted FIRST LAST" once all are written.
import { createInterface } from 'node:readline';
import { FakeImplementation, groupMessage } from '../fake-impl.ts';

const [port, first] = process.argv.slice(2).map(Number) as [number, number];
const fake = await FakeImplementation.start({ port });
let next = first;
process.stdout.write(`ready ${fake.port}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, count] = line.split(' ');
  if (command !== 'emit') return;
  const from = next;
  let pending = 0;
  const done = () => {
    if (--pending === 0) process.stdout.write(`emitted ${from} ${next - 1}\n`);
  };
  for (let i = 0; i < Number(count); i++) {
    const text = groupMessage(fake.selfId, next++);
    for (const ws of fake.sockets) {
      pending++;
      ws.send(text, done);
    }
  }
  if (pending === 0) process.stdout.write(`emitted ${from} ${next - 1}\n`);
});
