// Run before `npm test`: the suite runs the real Python frameworks (NoneBot2, aiocqhttp), so it installs them,
// pinned, into a project-local virtual environment, and again only when test/frameworks/requirements.txt changes
// (its hash is kept in the environment). When that cannot be done it says why in one line and keeps the line in
// the environment's place, so that the framework tests fail with it while the rest of the suite still runs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requirements = join(root, 'test/frameworks/requirements.txt');
/** ONEBOT_RELAY_VENV: another place for it (the test of this script uses one). */
const venv = resolve(root, process.env.ONEBOT_RELAY_VENV ?? '.venv-frameworks');
const python = join(venv, 'bin/python');
const stamp = join(venv, 'requirements.sha256');
/** Where the reason it could not be installed is kept (beside the environment, which is then absent). */
const failure = `${venv}.failed`;

const wanted = createHash('sha256').update(readFileSync(requirements)).digest('hex');
const current = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : undefined;

if (current === wanted && existsSync(python)) process.exit(0);

rmSync(failure, { force: true });
console.log(`installing the Python frameworks for the tests into ${venv} (${current ? 'requirements changed' : 'once'})`);
const problem = install();
if (problem) {
  rmSync(venv, { recursive: true, force: true });
  writeFileSync(failure, `${problem}\n`);
  console.log(`framework tests will fail: ${problem}`);
} else {
  writeFileSync(stamp, `${wanted}\n`);
}

/** Undefined when installed, else why not, in one line. */
function install() {
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(dirname(venv), { recursive: true });
  const base = process.env.PYTHON ?? 'python3';
  const created = run(base, ['-m', 'venv', venv]);
  if (created.error) return `cannot run ${base} (${created.error.message}): install Python 3.9 or later, or set PYTHON`;
  if (created.status !== 0) return `${base} -m venv failed (${lastLine(created)}): on Debian, apt-get install python3-venv`;
  // Few retries: an index that cannot be reached should say so within seconds, not minutes.
  const pip = run(python, [
    ...['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet'],
    ...['--retries', '1', '--timeout', '20', '-r', requirements],
  ]);
  if (pip.status === 0) return undefined;
  const network =
    /(Failed to establish a new connection: [^'"]*|Temporary failure in name resolution|Name or service not known|Read timed out|ConnectTimeout[^'"]*|SSLError[^'"]*|ProxyError[^'"]*)/.exec(
      pip.stderr,
    );
  if (network) return `pip could not reach the package index (${network[1].trim()}): the framework tests need PyPI once`;
  return `pip install -r test/frameworks/requirements.txt failed (${lastLine(pip)})`;
}

function run(command, args) {
  return spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function lastLine({ stdout, stderr }) {
  const lines = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim());
  return lines.filter(Boolean).at(-1) ?? 'no output';
}
