// riskControlSign on the failure messages implementations really send (as users reported them), and on those
// that mean something else: NapCat stuck, a rejected message, the relay's own timeout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { riskControlSign } from '../../src/risk-control.ts';

/** NapCat's sendMsg timeout: `EventRet` is what its kernel answered before the timeout. */
const napcatTimeout = (eventRet: string) =>
  `Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n${eventRet}\n`;

describe('riskControlSign', () => {
  it('sees risk control in NapCat accepting a message and never confirming it (NapCatQQ#788, #808, #1410)', () => {
    assert.equal(
      riskControlSign(napcatTimeout('{\n    "result": 0,\n    "errMsg": ""\n}')),
      'QQ accepted the message but never confirmed it sent',
    );
  });

  it('sees NapCat stuck, not risk control, when its kernel never answered (NapCatQQ#869, #1255)', () => {
    assert.equal(riskControlSign(napcatTimeout('{}')), undefined);
  });

  it('sees a message rejected for another reason as no risk control', () => {
    const removed =
      'EventChecker Failed: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{\n    "result": 110,\n    "errMsg": "发送失败，你已被移出该群，请重新加群。"\n}\n';
    assert.equal(riskControlSign(removed), undefined);
    assert.equal(
      riskControlSign(removed.replace('110', '-1').replace(/"errMsg": ".*"/, '"errMsg": "rich media transfer failed"')),
      undefined,
    );
    assert.equal(riskControlSign('upstream did not answer "send_group_msg" within 25000 ms (relay call timeout)'), undefined);
    assert.equal(riskControlSign(undefined), undefined);
  });

  it("sees LuckyLilliaBot's message posted without a sequence, and QQ's own words for a restricted account", () => {
    assert.equal(riskControlSign('发送消息失败 (sequence=0)'), 'QQ answered without posting the message');
    assert.equal(riskControlSign('发送消息失败 (code=0): '), undefined);
    assert.equal(
      riskControlSign('发送消息失败 (code=46): 你的账号因违反《QQ号码规则》被限制使用部分产品功能'),
      'QQ says the account is restricted',
    );
    assert.equal(riskControlSign('群消息发送失败: 账号可能被风控.'), 'QQ says the account is restricted');
  });
});
