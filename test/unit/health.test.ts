// HealthWatch on its own: what makes the bot degraded (failing sends, what the implementation reports of
// itself, an unanswered probe) and what clears it. test/operations.test.ts shows health over real sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallOutcome } from '../../src/calls.ts';
import { HealthWatch } from '../../src/health.ts';

const SENDS_FAILING = /^(\d+) send calls in a row failed or timed out \(last: (.+)\); the implementation may be up but unable to send$/;

function calls(watch: HealthWatch, action: string, ...outcomes: CallOutcome[]): void {
  for (const outcome of outcomes) watch.call({ action, outcome, ms: 1 });
}

describe('HealthWatch', () => {
  it('is healthy until told otherwise', () => {
    assert.deepEqual(new HealthWatch(3).reasons(), []);
  });

  it('is degraded by N send calls in a row that fail or time out, and says which was last', () => {
    const watch = new HealthWatch(3);
    calls(watch, 'send_group_msg', 'failed', 'timeout');
    assert.deepEqual(watch.reasons(), [], 'two are not enough');
    calls(watch, 'send_private_msg', 'timeout');
    assert.deepEqual(watch.reasons()[0]!.match(SENDS_FAILING)?.slice(1), ['3', 'send_private_msg timed out']);
    calls(watch, 'send_msg', 'failed');
    assert.deepEqual(watch.reasons()[0]!.match(SENDS_FAILING)?.slice(1), ['4', 'send_msg failed']);
  });

  it('clears the failing sends at one that succeeds', () => {
    const watch = new HealthWatch(2);
    calls(watch, 'send_group_msg', 'failed', 'failed', 'ok', 'failed');
    assert.deepEqual(watch.reasons(), []);
  });

  it('learns nothing from other calls, nor from sends the implementation never got or whose outcome is unknown', () => {
    const watch = new HealthWatch(2);
    calls(watch, 'send_group_msg', 'failed');
    calls(watch, 'get_status', 'ok', 'failed', 'timeout');
    calls(watch, 'send_group_msg', 'not_connected', 'unknown', 'failed');
    assert.match(watch.reasons()[0]!, /^2 send calls in a row/, 'the streak goes on through them');
  });

  it('applies a new threshold to the streak so far', () => {
    const watch = new HealthWatch(3);
    calls(watch, 'send_group_msg', 'failed', 'failed');
    watch.sendFailures = 2;
    assert.equal(watch.reasons().length, 1);
  });

  it('is degraded while the implementation reports online or good false, and only exactly false', () => {
    const watch = new HealthWatch(3);
    watch.report({ online: false, good: true });
    assert.deepEqual(watch.reasons(), ['the implementation reports online: false (the QQ account is offline)']);
    watch.report({ online: true, good: false });
    assert.deepEqual(watch.reasons(), ['the implementation reports good: false']);
    watch.report({ online: 0, good: null });
    assert.deepEqual(watch.reported, { online: true, good: true });
    watch.report({});
    assert.deepEqual(watch.reasons(), []);
  });

  it('keeps the last report when a status is not an object', () => {
    const watch = new HealthWatch(3);
    watch.report({ online: false });
    for (const status of [undefined, null, 'bad', 0]) watch.report(status);
    assert.deepEqual(watch.reported, { online: false, good: true });
  });

  it('is degraded while the last get_status probe went unanswered', () => {
    const watch = new HealthWatch(3);
    watch.probed(false);
    assert.deepEqual(watch.reasons(), ['the implementation did not answer the last get_status probe']);
    watch.probed(true);
    assert.deepEqual(watch.reasons(), []);
  });

  it('gives every reason at once, and forgets them all when the link goes down', () => {
    const watch = new HealthWatch(1);
    watch.report({ online: false, good: false });
    watch.probed(false);
    calls(watch, 'send_group_msg', 'timeout');
    assert.equal(watch.reasons().length, 4);
    watch.reset();
    assert.deepEqual(watch.reasons(), []);
    assert.deepEqual(watch.reported, { online: true, good: true });
  });
});

describe('HealthWatch: QQ offline and risk control', () => {
  const OFFLINE = { action: 'send_group_msg', outcome: 'failed' as const, ms: 1 };

  it('is offline from a bot_offline notice, saying its tag and message, until the implementation reports online again', () => {
    const watch = new HealthWatch(3);
    watch.wentOffline('下线通知', '你的账号在另一台设备登录');
    assert.deepEqual(watch.conditions(), {
      offline: 'the QQ account went offline: bot_offline notice, tag "下线通知", message "你的账号在另一台设备登录"',
    });
    assert.equal(watch.reported.online, false, 'relay heartbeats say so to clients');
    watch.report({ online: false, good: true });
    assert.match(watch.conditions().offline!, /bot_offline notice/, 'a heartbeat saying the same keeps the better reason');
    watch.report({ online: true, good: true });
    assert.deepEqual(watch.conditions(), {});
    watch.report({ online: false, good: true });
    assert.equal(watch.conditions().offline, 'the implementation reports online: false (the QQ account is offline)');
    watch.cameOnline();
    assert.deepEqual(watch.conditions(), {});
  });

  it('suspects risk control from a failed send whose message says so, until a send succeeds', () => {
    const watch = new HealthWatch(3);
    watch.call({ ...OFFLINE, message: 'EventChecker Failed: ... "result": 110, "errMsg": "发送失败，你已被移出该群"' });
    assert.deepEqual(watch.conditions(), {});
    watch.call({
      ...OFFLINE,
      message: 'Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ... EventRet:\n{\n "result": 0,\n "errMsg": ""\n}',
    });
    assert.equal(
      watch.conditions().riskControl,
      'suspected risk control: send_group_msg failed: QQ accepted the message but never confirmed it sent (Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ... EventRet: { "result": 0, "errMsg": "" })',
    );
    watch.call({ action: 'send_group_msg', outcome: 'ok', ms: 1 });
    assert.deepEqual(watch.conditions(), {});
  });
});
