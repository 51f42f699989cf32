// Suite "costs": what two relay features cost, each against the relay without it, in the relay's own CPU time.
//   profile  (issue 11) 1,000 events/s to 4 clients without a delivery profile, and to 4 clients of a second
//            WebSocket server whose profile rewrites every message as a CQ string; interleaved rounds. Goal <= 2x.
//   retry    (issue 16) the relay retrying an upstream on loopback that refuses connections (every 250-500 ms),
//            and the same relay linked and idle, over a window each. Goal: the retries well under 1 % of a core.
import { markerBytes, stampOf } from './events.ts';
import {
  type BenchContext,
  freePorts,
  median,
  PROCESS_CPU_RESOLUTION_MS,
  processesCpu,
  QUICK,
  type RelayProcess,
  relayCommand,
  relayOutputText,
  reportTitle,
  startRelayProcess,
  waitUntil,
  withClients,
} from './kit.ts';
import { type SourceProcess, startSource } from './source-process.ts';

const SELF_ID = 10001;
const PROFILE = { rate: 1_000, seconds: QUICK ? 1 : 3, clients: 4, rounds: QUICK ? 1 : 5, settings: { messagePostFormat: 'string' } };
const RETRY_SECONDS = QUICK ? 2 : 20;

let runs = 0;

/** The relay's CPU, ms, while the source sends PROFILE.rate events/s to PROFILE.clients clients on `url`. */
async function profileRound(relay: RelayProcess, source: SourceProcess, url: string, profiled: boolean): Promise<number> {
  return withClients(
    relay.idle,
    Array.from({ length: PROFILE.clients }, () => url),
    async (clients) => {
      const marker = `profile-${++runs}`;
      const bytes = markerBytes(marker);
      const received = clients.map(() => 0);
      let wrong: string | undefined;
      clients.forEach((client, i) => {
        client.onFrame = (data) => {
          if (stampOf(data, bytes) === undefined) return;
          received[i]!++;
          // The profiled clients get the message as a CQ string; the others exactly as sent (segments).
          if (data.includes('"message":"event') !== profiled) wrong ??= data.toString().slice(0, 200);
        };
      });
      const total = PROFILE.rate * PROFILE.seconds;
      const before = processesCpu([relay.pid]);
      await source.command({ cmd: 'pace', marker, rate: PROFILE.rate, total });
      await waitUntil(() => received.every((n) => n === total), `${total} events at each client`, 10_000);
      if (wrong) throw new Error(`profile cost: a ${profiled ? 'profiled' : 'plain'} client got ${wrong}`);
      return processesCpu([relay.pid]) - before;
    },
  );
}

/** The relay's CPU over RETRY_SECONDS, ms. */
async function idleCpu(relay: RelayProcess): Promise<number> {
  const before = processesCpu([relay.pid]);
  await new Promise((resolve) => setTimeout(resolve, RETRY_SECONDS * 1000));
  return processesCpu([relay.pid]) - before;
}

export async function costs({ check, cleanups }: BenchContext): Promise<void> {
  const source = await startSource(SELF_ID);
  cleanups.push(() => source.stop());
  const [profiledPort, refusingPort] = await freePorts(2);
  const relay = await startRelayProcess([source.url], { ws: [{ listen: `127.0.0.1:${profiledPort}`, ...PROFILE.settings }] });
  cleanups.push(() => relay.stop());
  const profiledUrl = `ws://127.0.0.1:${profiledPort}/`;

  process.stderr.write('bench costs: warming up (not measured)\n');
  await profileRound(relay, source, relay.url, false);
  await profileRound(relay, source, profiledUrl, true);
  const cost = { plain: [] as number[], profiled: [] as number[] };
  for (let i = 0; i < PROFILE.rounds; i++) {
    cost.plain.push(await profileRound(relay, source, relay.url, false));
    cost.profiled.push(await profileRound(relay, source, profiledUrl, true));
    process.stderr.write(
      `bench costs: profile round ${i + 1}/${PROFILE.rounds}: relay CPU ${cost.plain.at(-1)} ms plain, ${cost.profiled.at(-1)} ms profiled\n`,
    );
    check();
  }

  // Nothing listens on refusingPort: the relay retries it as a loopback upstream does.
  const retrying = await startRelayProcess([`ws://127.0.0.1:${refusingPort}`], {}, 'listening');
  cleanups.push(() => retrying.stop());
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // past its start
  process.stderr.write(
    `bench costs: the relay's CPU over ${RETRY_SECONDS} s retrying a refused upstream, then ${RETRY_SECONDS} s linked and idle\n`,
  );
  const retryCpu = await idleCpu(retrying);
  check();
  const linkedCpu = await idleCpu(relay);

  const [plain, profiled] = [median(cost.plain), median(cost.profiled)];
  const share = (ms: number) => (ms / (RETRY_SECONDS * 1000)) * 100;
  const lines = [''];
  lines.push(reportTitle('costs'));
  lines.push(
    `relay: ${relayCommand().what}, --log-level warn, default settings; the source in its own process; 127.0.0.1 only; CPU from /proc (${PROCESS_CPU_RESOLUTION_MS} ms resolution)`,
  );
  lines.push(
    `profile cost: relay CPU at ${PROFILE.rate} ev/s for ${PROFILE.seconds} s to ${PROFILE.clients} clients, medians of ${PROFILE.rounds} interleaved rounds: ` +
      `without a profile ${plain.toFixed(0)} ms (${cost.plain.join(' ')}), with ${JSON.stringify(PROFILE.settings)} ${profiled.toFixed(0)} ms (${cost.profiled.join(' ')})`,
  );
  lines.push(
    `ratio profile cost: ${(profiled / plain).toFixed(2)}x profiled/plain (issue 11's goal: at most 2x)${QUICK ? ' (BENCH_QUICK: not a measurement)' : ''}`,
  );
  lines.push(
    `retry cost: relay CPU over ${RETRY_SECONDS} s retrying a refused loopback upstream ${retryCpu} ms (${share(retryCpu).toFixed(2)} % of a core); ` +
      `linked and idle ${linkedCpu} ms (${share(linkedCpu).toFixed(2)} % of a core); issue 16's goal: well under 1 % of a core: ${share(retryCpu) < 1 ? 'met' : 'NOT met'}`,
  );
  lines.push('');
  lines.push(relayOutputText(relay.output));
  lines.push(`retrying relay: ${retrying.output.length} lines of output (warnings about the refused upstream)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
