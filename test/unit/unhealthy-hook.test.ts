// UnhealthyHook on its own, with a mocked clock and real tiny shell commands: the grace period, one run at a time,
// the cooldown from the end of a run, the timeout, and what reaches the command and the log.
// test/unhealthy-hook.test.ts shows the hook in a relay whose implementation dies.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type HookHealth, type HookOptions, UnhealthyHook } from '../../src/unhealthy-hook.ts';
import { mockClock, recordingLogger } from './kit.ts';

/** Taken before any test mocks the clock: commands run in real time. */
const realSetTimeout = globalThis.setTimeout;

const DOWN: HookHealth = { status: 'down', reason: 'connection lost', self_id: 10001 };
const DEGRADED: HookHealth = { status: 'degraded', reason: 'the implementation reports good: false', self_id: 10001 };
const UP: HookHealth = { status: 'up', self_id: 10001 };

const OPTIONS: HookOptions = { command: 'exit 0', grace: 0, cooldown: 10_000, timeout: 60_000 };

function setup(t: TestContext, options: Partial<HookOptions> = {}) {
  const clock = mockClock(t);
  const { log, records, messages } = recordingLogger();
  const hook = new UnhealthyHook({ ...OPTIONS, ...options }, log);
  const runs = () => messages('warn').filter((m) => m.endsWith('running --on-unhealthy'));
  /** Wait (in real time) for a log message. */
  const logged = async (pattern: RegExp) => {
    const start = performance.now();
    while (!records.some((r) => pattern.test(r.msg))) {
      if (performance.now() - start > 5000) assert.fail(`no log message like ${pattern} within 5 s; got ${JSON.stringify(records)}`);
      await new Promise((resolve) => realSetTimeout(resolve, 5));
    }
  };
  return { clock, hook, messages, runs, logged };
}

// The commands are POSIX shell (the relay runs them with cmd.exe on Windows).
describe('UnhealthyHook', { timeout: 20_000, skip: process.platform === 'win32' }, () => {
  it('runs once the bot has been unhealthy for the grace period, with the health in its environment, and logs its output', async (t) => {
    const command = 'echo "$ONEBOT_RELAY_HEALTH|$ONEBOT_RELAY_SELF_ID|$ONEBOT_RELAY_REASON"';
    const { clock, hook, runs, logged } = setup(t, { command, grace: 60_000, cooldown: 600_000 });
    hook.check(DOWN);
    clock.tick(59_999);
    hook.check(DOWN);
    assert.deepEqual(runs(), []);
    clock.tick(1);
    hook.check(DOWN);
    assert.deepEqual(runs(), ['health down for 60 s (connection lost): running --on-unhealthy']);
    await logged(/^--on-unhealthy: down\|10001\|connection lost$/);
    await logged(/^--on-unhealthy exited with code 0; next run no sooner than 600 s from now$/);
  });

  it('logs whole lines of its output and errors, a line written in pieces included', async (t) => {
    const { hook, messages, logged } = setup(t, {
      command: "printf hal; sleep 0.05; printf 'f\\nlast'; printf oops >&2",
    });
    hook.check(DOWN);
    await logged(/exited with code 0/);
    await logged(/--on-unhealthy: last/);
    await logged(/--on-unhealthy: oops/);
    assert.deepEqual(
      messages('info')
        .filter((m) => m.startsWith('--on-unhealthy: '))
        .sort(),
      ['--on-unhealthy: half', '--on-unhealthy: last', '--on-unhealthy: oops'],
    );
  });

  it('starts the grace period over when the bot recovers, and counts degraded and down alike', async (t) => {
    const { clock, hook, runs, logged } = setup(t, { grace: 1000 });
    hook.check(DOWN);
    clock.tick(900);
    hook.check(UP);
    clock.tick(100);
    hook.check(DEGRADED);
    clock.tick(500);
    hook.check(DOWN);
    clock.tick(499);
    hook.check(DOWN);
    assert.deepEqual(runs(), []);
    clock.tick(1);
    hook.check(DEGRADED);
    assert.deepEqual(runs(), ['health degraded for 1 s (the implementation reports good: false): running --on-unhealthy']);
    await logged(/exited with code 0/);
  });

  it('runs nothing without a command, and counts the grace period from when it has one', async (t) => {
    const { clock, hook, messages, runs, logged } = setup(t, { command: '', grace: 1000 });
    hook.check(DOWN);
    clock.tick(60_000);
    hook.check(DOWN);
    assert.equal(messages('warn').length + messages('info').length, 0);
    hook.configure({ ...OPTIONS, grace: 1000 });
    hook.check(DOWN);
    clock.tick(999);
    hook.check(DOWN);
    assert.deepEqual(runs(), []);
    clock.tick(1);
    hook.check(DOWN);
    assert.equal(runs().length, 1);
    await logged(/exited with code 0/);
  });

  it('runs one command at a time, and the next no sooner than the cooldown from the end of the last, even one that failed', async (t) => {
    const { clock, hook, runs, logged } = setup(t, { command: 'exit 3' });
    hook.check(DOWN);
    clock.tick(3000); // the run takes 3 s
    hook.check(DOWN);
    assert.equal(runs().length, 1, 'not while one runs');
    await logged(/^--on-unhealthy exited with code 3; next run no sooner than 10 s from now$/);
    clock.tick(9999);
    hook.check(DOWN);
    assert.equal(runs().length, 1, 'not within 10 s of the end of the last');
    clock.tick(1);
    hook.check(DOWN);
    assert.equal(runs().length, 2);
    await logged(/exited with code 3/);
  });

  it('keeps counting the cooldown from the last run when its settings change', async (t) => {
    const { clock, hook, messages, runs, logged } = setup(t);
    hook.check(DOWN);
    await logged(/exited with code 0/);
    hook.configure({ ...OPTIONS, command: 'exit 5', cooldown: 20_000 });
    clock.tick(19_999);
    hook.check(DOWN);
    assert.equal(runs().length, 1);
    clock.tick(1);
    hook.check(DOWN);
    assert.equal(runs().length, 2);
    await logged(/exited with code 5/);
    assert.match(messages('info').at(-1)!, /next run no sooner than 20 s from now/);
  });

  it('stops a command that runs past its timeout', async (t) => {
    const { clock, hook, messages, logged } = setup(t, { command: 'sleep 10', timeout: 2000 });
    hook.check(DOWN);
    clock.tick(1999);
    assert.deepEqual(messages('warn').slice(1), []);
    clock.tick(1);
    assert.deepEqual(messages('warn').slice(1), ['--on-unhealthy still running after 2000 ms: stopping it']);
    await logged(/^--on-unhealthy ended by SIGTERM;/);
  });

  it('kills a command that ignores SIGTERM, even once the shell around it has ended', async (t) => {
    const { clock, hook, messages, logged } = setup(t, {
      // The subshell and its sleep ignore SIGTERM; their unfinished last line is logged when their output
      // closes: when they are gone.
      command: "(trap '' TERM; echo ready; printf gone; sleep 10)",
      timeout: 2000,
    });
    hook.check(DOWN);
    await logged(/^--on-unhealthy: ready$/);
    clock.tick(2000);
    await logged(/^--on-unhealthy (ended by SIGTERM|exited with code)/);
    assert.ok(!messages('info').includes('--on-unhealthy: gone'), 'it ignored SIGTERM');
    clock.tick(5000);
    await logged(/^--on-unhealthy: gone$/);
  });
});
