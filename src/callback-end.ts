// Work put off until the code handling the current callback (a socket read with all its frames, a timer) is done:
// first what is sent to clients (each socket's writes in one system call), then what is stored (the spool's one
// write to disk), which clients never wait for. It runs before the relay handles anything else.
type Phase = 'send' | 'store';

const waiting: Record<Phase, (() => void)[]> = { send: [], store: [] };
let queued = false;

function run(): void {
  queued = false;
  // One that throws does not keep the others from running; the first failure is thrown after them.
  let failure: unknown;
  for (const phase of [waiting.send, waiting.store]) {
    for (const work of phase.splice(0)) {
      try {
        work();
      } catch (err) {
        failure ??= err;
      }
    }
  }
  if (failure !== undefined) throw failure;
}

export function atCallbackEnd(phase: Phase, work: () => void): void {
  waiting[phase].push(work);
  if (queued) return;
  queued = true;
  queueMicrotask(run);
}
