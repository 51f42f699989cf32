// Is a failed send a sign of QQ's risk control (风控) rather than of a slow or stuck implementation? The words
// are the implementations' own (NapCat af07479, LuckyLilliaBot ab2b6af) and what QQ's servers put in them.

/**
 * Each with why it means risk control. Not among them: NapCat's sendMsg timeout with an empty EventRet ("{}"),
 * which is NapCat itself stuck (NapCatQQ#869, #1255): that makes the bot degraded, not risk-controlled.
 */
const SIGNS: { pattern: RegExp; meaning: string }[] = [
  {
    // NapCat: the kernel took the message (result 0) but never reported it sent (NapCatQQ#788, #808, #1410, #262).
    pattern: /NodeIKernelMsgService\/sendMsg[\s\S]*"result"\s*:\s*0\b/,
    meaning: 'QQ accepted the message but never confirmed it sent',
  },
  {
    // LuckyLilliaBot: the server answered without a message sequence, so it did not post the message.
    pattern: /发送消息失败 \(sequence=0\)/,
    meaning: 'QQ answered without posting the message',
  },
  {
    // What QQ's servers say of a restricted or frozen account, and go-cqhttp's own words for it.
    pattern: /风控|风险|冻结|封禁|限制使用|被限制|频率过快|发送频繁|操作频繁|risk control|account (?:is )?(?:frozen|restricted)/i,
    meaning: 'QQ says the account is restricted',
  },
];

/** Why `message` (a failed send's) looks like risk control; undefined when it does not. */
export function riskControlSign(message: string | undefined): string | undefined {
  if (!message) return undefined;
  return SIGNS.find((sign) => sign.pattern.test(message))?.meaning;
}
