// Benchmarks, one command: `npm run bench` runs every suite; `npm run bench -- accounts` runs the ones named.
//   proxy     issue 14's workloads over DIRECT (clients on the source), nginx and the relay, interleaved (scripts/bench/proxy.ts)
//   accounts  the relay's CPU per delivered event, three accounts against one (scripts/bench/accounts.ts)
//   costs     what a delivery profile and retrying a refused upstream cost the relay (scripts/bench/costs.ts)
//   spool     connected clients' latency and the relay's CPU with the spool writing for an away target, and without (scripts/bench/spool.ts)
// The relay is its executable, dist/onebot-relay-linux-x64 (built first when missing); BENCH_RELAY=PATH runs another,
// BENCH_RELAY=source runs src/main.ts with tsx. BENCH_QUICK=1: a short run of the same workloads (CI smoke: it fails
// only when something breaks or an event is lost; its figures mean little). BENCH_RELAY_NODE_ARGS passes node flags to
// the relay child, e.g. BENCH_RELAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/relay-prof" to profile it under this load.
import { performance } from 'node:perf_hooks';
import { accounts } from './bench/accounts.ts';
import { costs } from './bench/costs.ts';
import type { BenchContext } from './bench/kit.ts';
import { proxy } from './bench/proxy.ts';
import { spool } from './bench/spool.ts';

const SUITES: Record<string, (context: BenchContext) => Promise<void>> = { proxy, accounts, costs, spool };

// Each child process and temporary folder has its exit listener (to be killed or removed with the bench): the proxy
// suite alone has more than the 10 Node warns of.
process.setMaxListeners(32);

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !(name in SUITES));
  if (unknown.length) throw new Error(`no bench suite ${unknown.join(', ')}; the suites are: ${Object.keys(SUITES).join(', ')}`);
  const cleanups: (() => Promise<void>)[] = [];
  let interrupted = false;
  const onSignal = () => {
    // First signal: stop after the current workload and clean up. Second: exit now (relay children are killed on exit).
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('bench: interrupted; stopping after the current workload (again to exit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new Error('interrupted');
  };
  try {
    const started = performance.now();
    for (const name of names.length ? names : Object.keys(SUITES)) {
      await SUITES[name]!({ check, cleanups });
      // Each suite's relay and fakes go before the next suite starts, so that they do not share the machine.
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    }
    process.stdout.write(`total time ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err: Error) => process.stderr.write(`bench: cleanup failed: ${err.message}\n`));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main()
  .catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    // Everything is closed by now, so the process exits on its own; this only guards against a forgotten handle.
    setTimeout(() => {
      process.stderr.write('bench: something kept the process alive after cleanup; exiting\n');
      process.exit(process.exitCode ?? 0);
    }, 3_000).unref();
  });
