// The functions a CPU profile (node --cpu-prof) spends most time in, by self time: the figures README Performance
// quotes. `npx tsx scripts/bench/profile-top.ts FILE.cpuprofile [N]` (N: how many, default 25).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
// Self time per function (name and place), from the samples and the time between them.
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const { callFrame } = nodes.get(id)!;
  const where = callFrame.url ? ` ${callFrame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${callFrame.lineNumber + 1}` : '';
  const key = `${callFrame.functionName || '(anonymous)'}${where}`;
  const us = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
});
const idle = self.get('(idle)') ?? 0;
const busy = total - idle;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy; self time as a share of busy time:\n`,
);
for (const [key, us] of [...self]
  .filter(([key]) => key !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(count))) {
  process.stdout.write(`${((us / busy) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}\n`);
}
