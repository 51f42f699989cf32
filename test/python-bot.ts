// A real Python bot framework (test/frameworks/*.py) run as a child process from the environment that
// scripts/ensure-frameworks.mjs installs, with what it did read from the JSON lines it prints (report.py).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from './helpers.ts';

const VENV = resolve(process.env.ONEBOT_RELAY_VENV ?? '.venv-frameworks');
const BOTS = resolve('test/frameworks');

/** One line a bot printed: what happened (`what`), which bot (`bot`), and its fields. */
export type Report = { what: string; bot: string } & Record<string, any>;

/** The environment's Python; throws the one line the installer left when it could not install the frameworks. */
export function frameworkPython(venv = VENV): string {
  const python = join(venv, 'bin/python');
  if (existsSync(python)) return python;
  const failed = `${venv}.failed`;
  const why = existsSync(failed) ? readFileSync(failed, 'utf8').trim() : 'they are not installed';
  throw new Error(`the Python frameworks are missing: ${why} (node scripts/ensure-frameworks.mjs installs them)`);
}

export interface BotOptions {
  /** Its name in its reports and in its pong ("pong from NAME"). */
  name: string;
  /** NoneBot: the .env written into its working directory, as an operator configures it. */
  dotenv?: Record<string, string>;
  /** Environment variables (aiocqhttp's CQHttp arguments). */
  env?: Record<string, string>;
}

export interface NextOptions {
  /** Skip the first this many reports of that kind. */
  from?: number;
  timeout?: number;
  match?: (report: Report) => boolean;
}

export class PythonBot {
  readonly reports: Report[] = [];
  readonly name: string;
  private output = '';
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly exited: Promise<void>;

  private constructor(script: string, options: BotOptions) {
    this.name = options.name;
    const python = frameworkPython();
    this.dir = mkdtempSync(join(tmpdir(), `onebot-relay-${options.name}-`));
    if (options.dotenv) {
      writeFileSync(
        join(this.dir, '.env'),
        Object.entries(options.dotenv)
          .map(([key, value]) => `${key}=${value}\n`)
          .join(''),
      );
    }
    this.child = spawn(python, [join(BOTS, script)], {
      cwd: this.dir,
      env: { ...process.env, ...options.env, TEST_BOT_NAME: options.name, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout!.on('data', (data: Buffer) => {
      const text = pending + data.toString();
      const lines = text.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        this.output += `${line}\n`;
        if (line.startsWith('{"what"')) this.reports.push(JSON.parse(line));
      }
    });
    this.child.stderr!.on('data', (data: Buffer) => (this.output += data.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** NoneBot2 configured by `dotenv` (test/frameworks/nonebot_bot.py). */
  static nonebot(name: string, dotenv: Record<string, string>): PythonBot {
    return new PythonBot('nonebot_bot.py', { name, dotenv: { LOG_LEVEL: 'INFO', ...dotenv } });
  }

  /** aiocqhttp serving on `port`, its CQHttp arguments from `env` (test/frameworks/aiocqhttp_bot.py). */
  static aiocqhttp(name: string, port: number, env: Record<string, string> = {}): PythonBot {
    return new PythonBot('aiocqhttp_bot.py', { name, env: { PORT: String(port), ...env } });
  }

  /** Its reports of one kind (`what`), those after the first `from` of them. */
  seen(what: string, from = 0): Report[] {
    return this.reports.filter((r) => r.what === what).slice(from);
  }

  /** Wait for a report of `what` (after the first `from` of them) that `match` accepts; returns it. */
  async next(what: string, { from = 0, timeout = 15_000, match = () => true }: NextOptions = {}): Promise<Report> {
    let found: Report | undefined;
    const ended = () => this.child.exitCode !== null || this.child.signalCode !== null;
    try {
      await waitFor(
        () => (found = this.seen(what, from).find(match)) !== undefined || ended(),
        `${this.name} to report "${what}"`,
        timeout,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; its last output:\n${this.tail()}`);
    }
    if (!found) throw new Error(`${this.name} exited before it reported "${what}"; its last output:\n${this.tail()}`);
    return found;
  }

  /** Everything it printed so far (stdout and stderr): its own log included. */
  get printed(): string {
    return this.output;
  }

  /** The last lines it printed (stdout and stderr), for a failure message. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /** Kill it (SIGKILL: nothing of it may outlive a test) and remove its working directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
