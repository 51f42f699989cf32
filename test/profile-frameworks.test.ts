// Delivery profiles with real frameworks: aiocqhttp served CQ strings (messagePostFormat "string") handles them;
// NoneBot2 fed NapCat's quirks (a private input_status notice, a font name) logs a ValidationError for each and
// its message handler never sees that message, while with `compat` it gets the message and logs no error.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CompatFix } from '../src/profile/compat.ts';
import { FakeImplementation, inputStatus, textMessage } from './fake-impl.ts';
import { assertLifecycle, FRAMEWORK, pingPong, TOKEN } from './framework-kit.ts';
import { freePort, startTestRelay, type TestRelay } from './helpers.ts';
import { frameworkPython, PythonBot } from './python-bot.ts';

/** A group message whose font is a font name, as lc-cn/onebots#168 reports. */
const fontNamed = (selfId: number, messageId: number, text: string) =>
  textMessage(selfId, messageId, text).replace('"font":0', '"font":"宋体"');

describe('delivery profiles with real frameworks', { timeout: 60_000 }, () => {
  before(() => void frameworkPython());

  it('aiocqhttp with messagePostFormat "string" gets CQ strings, and its handler answers ping', async () => {
    const fake = await FakeImplementation.start();
    const port = await freePort();
    const bot = PythonBot.aiocqhttp('aio-cq', port, { ACCESS_TOKEN: TOKEN });
    let relay: TestRelay | undefined;
    try {
      relay = await startTestRelay(fake.url, {
        ...FRAMEWORK,
        reverse: [{ url: `ws://127.0.0.1:${port}/ws/`, messagePostFormat: 'string' }],
        token: TOKEN,
      });
      await assertLifecycle(bot, fake);
      const id = fake.say('see [this] & that');
      const seen = await bot.next('message', { match: (m) => m.message_id === id });
      assert.equal(seen.text, 'see &#91;this&#93; &amp; that', 'the message as a CQ string, escaped');
      await pingPong(fake, bot);
    } finally {
      await relay?.stop();
      await bot.stop();
      await fake.stop();
    }
  });

  for (const compat of [false, true]) {
    it(`NoneBot2 ${compat ? 'with' : 'without'} compat: an input_status notice and a font name ${compat ? 'pass without a ValidationError' : 'raise ValidationErrors'}`, async () => {
      const fake = await FakeImplementation.start();
      const port = await freePort();
      const bot = PythonBot.nonebot(compat ? 'nb-compat' : 'nb-plain', {
        DRIVER: '~fastapi',
        HOST: '127.0.0.1',
        PORT: String(port),
        ONEBOT_ACCESS_TOKEN: TOKEN,
        LOG_LEVEL: 'DEBUG', // NoneBot logs the ValidationError of an event it cannot parse at DEBUG
      });
      let relay: TestRelay | undefined;
      try {
        const url = `ws://127.0.0.1:${port}/onebot/v11/ws`;
        const reverse = compat ? { url, compat: ['numericFont', 'dropNonStandardNotices'] satisfies CompatFix[] } : { url };
        relay = await startTestRelay(fake.url, { ...FRAMEWORK, reverse: [reverse], token: TOKEN });
        await assertLifecycle(bot, fake);
        fake.broadcast(inputStatus(fake.selfId));
        fake.broadcast(fontNamed(fake.selfId, 801, 'in 宋体'));
        // Events arrive in order: once this one is handled, the two before it were too.
        const last = fake.say('after them');
        await bot.next('message', { match: (m) => m.message_id === last });
        const handled = bot.seen('message').map((m) => m.message_id);
        const errors: string[] = bot.printed.match(/ValidationError: 1 validation error for \w+/g) ?? [];
        if (compat) {
          assert.deepEqual(handled, [801, last], 'the message with a font name reached its handler');
          assert.deepEqual(errors, [], 'no ValidationError in its log');
        } else {
          assert.deepEqual(handled, [last], 'the message with a font name never reached its handler');
          assert.ok(errors.includes('ValidationError: 1 validation error for NotifyEvent'), `the input_status error: ${errors}`);
          assert.ok(errors.includes('ValidationError: 1 validation error for GroupMessageEvent'), `the font error: ${errors}`);
        }
      } finally {
        await relay?.stop();
        await bot.stop();
        await fake.stop();
      }
    });
  }
});
