// --on-unhealthy: the operator's command runs after the grace period, at most once per cooldown, with the
// reason in its environment and its output in the log; a command that hangs is stopped.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, waitFor } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'onebot-relay-hook-'));
/** A command line that runs `code` in Node (no shell quoting of the code itself). */
function nodeCommand(name: string, code: string): string {
  const script = join(dir, `${name}.cjs`);
  writeFileSync(script, code);
  return `"${process.execPath}" "${script}"`;
}

describe('--on-unhealthy', { timeout: 30_000 }, () => {
  it('runs after the grace period, once per cooldown, with the health in its environment, and logs its output', async () => {
    const out = join(dir, 'runs.txt');
    const command = nodeCommand(
      'restart',
      `require('fs').appendFileSync(${JSON.stringify(out)}, process.env.ONEBOT_RELAY_HEALTH + '|' + process.env.ONEBOT_RELAY_SELF_ID + '|' + process.env.ONEBOT_RELAY_REASON + '\\n'); console.log('restarting napcat');`,
    );
    // Whole lines only: a run may have created the file and not yet written its line.
    const runs = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1) : []);
    const fake = await FakeImplementation.start();
    const relay = await startTestRelay(fake.url, { onUnhealthy: command, unhealthyGrace: 400, unhealthyCooldown: 2500 });
    try {
      await waitFor(() => relay.relay.hub.health().status === 'up' && relay.relay.hub.health().self_id !== null, 'up');
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(runs().length, 0, 'never while healthy');
      const downAt = Date.now();
      await fake.kill();
      await waitFor(() => runs().length === 1, 'the first run', 5000);
      const firstAfter = Date.now() - downAt;
      assert.ok(firstAfter >= 400, `not before the grace period (${firstAfter} ms)`);
      const [status, selfId, reason] = runs()[0]!.split('|');
      assert.equal(status, 'down');
      assert.equal(selfId, String(fake.selfId));
      assert.match(reason!, /connection lost without a close frame/);
      await waitFor(() => relay.logs.some((l) => l.includes('--on-unhealthy: restarting napcat')), 'its output in the log');
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(runs().length, 1, 'not again within the cooldown, though still down');
      await waitFor(() => runs().length === 2, 'a second run after the cooldown', 5000);
      await fake.restart();
      await waitFor(() => relay.relay.hub.health().status === 'up', 'up again');
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(runs().length, 2, 'no run once healthy');
    } finally {
      await relay.stop();
      await fake.stop();
    }
  });

  it('stops a command that runs past its timeout', async () => {
    const fake = await FakeImplementation.start();
    await fake.kill();
    const relay = await startTestRelay(fake.url, {
      onUnhealthy: nodeCommand('hang', 'setTimeout(() => {}, 60000);'),
      unhealthyGrace: 0,
      unhealthyTimeout: 300,
    });
    try {
      await waitFor(() => relay.logs.some((l) => /--on-unhealthy still running after 300 ms: stopping it/.test(l)), 'the timeout', 5000);
      await waitFor(() => relay.logs.some((l) => /--on-unhealthy (ended by SIGTERM|exited with code)/.test(l)), 'the run to end', 5000);
    } finally {
      await relay.stop();
    }
  });
});
