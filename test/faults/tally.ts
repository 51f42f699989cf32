// Counting for the fault suite: what the implementation sent, what a client got, what was lost or duplicated.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type TestClient, waitFor } from '../helpers.ts';

export interface Tally {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
}

/** `sent`: event numbers known to have left the implementation; `received`: numbers a target got, in order. */
export function tally(name: string, sent: number[], received: number[]): Tally {
  const got = new Set(received);
  const result = {
    sent: sent.length,
    delivered: sent.filter((n) => got.has(n)).length,
    lost: sent.filter((n) => !got.has(n)).length,
    duplicated: received.length - got.size,
  };
  console.log(`fault ${name}: sent ${result.sent}, delivered ${result.delivered}, lost ${result.lost}, duplicated ${result.duplicated}`);
  return result;
}

/** The message_id of each message event a client got, in the order it got them. */
export function receivedIds(client: TestClient): number[] {
  return client
    .parsed()
    .filter((f) => f.post_type === 'message')
    .map((f) => f.message_id as number);
}

/** The message_id of each event text sent. */
export function sentIds(texts: string[]): number[] {
  return texts.map((text) => JSON.parse(text).message_id as number);
}

export function inOrder(numbers: number[]): boolean {
  return numbers.every((n, i) => i === 0 || n > numbers[i - 1]!);
}

const CHILD = fileURLToPath(new URL('./impl-child.ts', import.meta.url));
const FRAMEWORK_CHILD = fileURLToPath(new URL('./framework-child.ts', import.meta.url));

/** A script of the fault suite in a process of its own, to signal, feed lines to, and read. */
class ChildScript {
  protected output = '';
  protected readonly child: ChildProcess;

  protected constructor(script: string, args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d) => (this.output += d));
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** The fake implementation in a child process. */
export class ImplProcess extends ChildScript {
  private constructor(port: number, first: number) {
    super(CHILD, [String(port), String(first)]);
  }

  static async start(port: number, first: number): Promise<ImplProcess> {
    const impl = new ImplProcess(port, first);
    await waitFor(() => impl.output.includes('ready'), 'the implementation process to listen', 10_000);
    return impl;
  }

  /** Emit `count` events and wait until they are written; returns their numbers. */
  async emit(count: number): Promise<number[]> {
    const seen = this.output.length;
    this.child.stdin!.write(`emit ${count}\n`);
    let match: RegExpExecArray | null = null;
    await waitFor(() => (match = /emitted (\d+) (\d+)\n/.exec(this.output.slice(seen))) !== null, 'the events to be written', 10_000);
    const [, from, to] = match! as RegExpExecArray;
    return Array.from({ length: Number(to) - Number(from) + 1 }, (_, i) => Number(from) + i);
  }

  /** Emit without waiting: the process may die before they are all written. */
  emitAndForget(count: number): void {
    this.child.stdin!.write(`emit ${count}\n`);
  }
}

/** A framework in a process of its own (framework-child.ts), to stop or block as a stalled one would be. */
export class FrameworkProcess extends ChildScript {
  private constructor(args: string[]) {
    super(FRAMEWORK_CHILD, args);
  }

  /** A client of the relay's WebSocket server at `url` (it dials again 200 ms after a close). */
  static async forward(url: string): Promise<FrameworkProcess> {
    const framework = new FrameworkProcess(['forward', url]);
    await waitFor(() => framework.lines('open').length > 0, 'the framework process to connect', 10_000);
    return framework;
  }

  /** A reverse WebSocket server; `url` is where the relay should dial it. */
  static async reverse(): Promise<{ framework: FrameworkProcess; url: string }> {
    const framework = new FrameworkProcess(['reverse']);
    await waitFor(() => framework.lines('listening').length > 0, 'the framework process to listen', 10_000);
    return { framework, url: `ws://127.0.0.1:${framework.lines('listening')[0]}/` };
  }

  /** What followed each line that starts with `word`. */
  lines(word: string): string[] {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith(`${word} `) || l === word)
      .map((l) => l.slice(word.length + 1));
  }

  /** The message_id of every group message received, in order. */
  events(): number[] {
    return this.lines('event').map(Number);
  }

  /** Busy-wait `ms` in the framework: its event loop reads nothing and answers no ping meanwhile. */
  block(ms: number): void {
    this.child.stdin!.write(`block ${ms}\n`);
  }
}
