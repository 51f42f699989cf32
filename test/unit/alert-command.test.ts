// The command alert channel on its own, with real tiny shell commands and a mocked clock for its timeout: the
// alert in its environment, its output in the log, a failed run, a run stopped past its timeout, and one that
// ignores SIGTERM. test/unhealthy-hook.test.ts shows --on-unhealthy (a command channel) in a relay.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type Alert, conditionAlert } from '../../src/alerts/alert.ts';
import { create } from '../../src/alerts/channels/command.ts';
import { mockClock, recordingLogger } from './kit.ts';

/** Taken before any test mocks the clock: commands run in real time. */
const realSetTimeout = globalThis.setTimeout;

const DOWN: Alert = conditionAlert(
  'link',
  'start',
  { selfId: 10001, nickname: 'bot', target: 'ws://127.0.0.1:3001/' },
  { since: Date.now() - 60_000, flaps: 1, detail: 'connection lost without a close frame (1006)' },
);

function setup(t: TestContext, command: string, timeout = 60_000) {
  const clock = mockClock(t);
  const { log, records, messages } = recordingLogger();
  const channel = create({ command, timeout }, '--on-unhealthy', log);
  /** Wait (in real time) for a log message. */
  const logged = async (pattern: RegExp) => {
    const start = performance.now();
    while (!records.some((r) => pattern.test(r.msg))) {
      if (performance.now() - start > 5000) assert.fail(`no log message like ${pattern} within 5 s; got ${JSON.stringify(records)}`);
      await new Promise((resolve) => realSetTimeout(resolve, 5));
    }
  };
  const send = (alert = DOWN) => channel.send(alert, new AbortController().signal);
  return { clock, channel, send, messages, logged };
}

// The commands are POSIX shell (the relay runs them with cmd.exe on Windows).
describe('command channel', { timeout: 20_000, skip: process.platform === 'win32' }, () => {
  it('runs with the alert in its environment, says so, logs its output and resolves when it exits 0', async (t) => {
    const { send, messages } = setup(
      t,
      'echo "$ONEBOT_RELAY_EVENT|$ONEBOT_RELAY_HEALTH|$ONEBOT_RELAY_SELF_ID|$ONEBOT_RELAY_REASON"; echo "$ONEBOT_RELAY_ALERT" | grep -c "\\"event\\":\\"link_down\\""',
    );
    await send();
    assert.deepEqual(messages('warn'), [`${DOWN.text} Running --on-unhealthy.`]);
    assert.deepEqual(messages('info'), [
      '--on-unhealthy: link_down|down|10001|connection lost without a close frame (1006)',
      '--on-unhealthy: 1',
      '--on-unhealthy exited with code 0',
    ]);
    assert.equal(create({ command: 'x', timeout: 1 }, 'c', recordingLogger().log).retry, false, 'a failed run is not retried');
  });

  it('logs whole lines of its output and errors, a line written in pieces included', async (t) => {
    const { send, messages } = setup(t, "printf hal; sleep 0.05; printf 'f\\nlast'; printf oops >&2");
    await send();
    assert.deepEqual(
      messages('info')
        .filter((m) => m.startsWith('--on-unhealthy: '))
        .sort(),
      ['--on-unhealthy: half', '--on-unhealthy: last', '--on-unhealthy: oops'],
    );
  });

  it('fails, saying how, when the command exits non-zero', async (t) => {
    const { send } = setup(t, 'exit 3');
    await assert.rejects(send(), { message: 'exited with code 3' });
  });

  it('stops a command that runs past its timeout', async (t) => {
    const { clock, send, messages, logged } = setup(t, 'sleep 10', 2000);
    const run = send();
    clock.tick(1999);
    assert.deepEqual(messages('warn').slice(1), []);
    clock.tick(1);
    assert.deepEqual(messages('warn').slice(1), ['--on-unhealthy still running after 2000 ms: stopping it']);
    await assert.rejects(run, { message: 'ended by SIGTERM' });
    await logged(/^--on-unhealthy ended by SIGTERM$/);
  });

  it('kills a command that ignores SIGTERM, even once the shell around it has ended', async (t) => {
    // The subshell and its sleep ignore SIGTERM; their unfinished last line is logged when their output closes:
    // when they are gone.
    const { clock, send, messages, logged } = setup(t, "(trap '' TERM; echo ready; printf gone; sleep 10)", 2000);
    const run = send().catch(() => {});
    await logged(/^--on-unhealthy: ready$/);
    clock.tick(2000);
    await logged(/^--on-unhealthy (ended by SIGTERM|exited with code)/);
    assert.ok(!messages('info').includes('--on-unhealthy: gone'), 'it ignored SIGTERM');
    clock.tick(5000);
    await logged(/^--on-unhealthy: gone$/);
    await run;
  });
});
