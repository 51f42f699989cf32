// Delivery on its own, on a mocked clock, over a channel that fails when told to: retries with backoff up to a
// bound, order kept, nothing waited for, a failing channel logged once per episode, secrets never shown.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { relayAlert } from '../../src/alerts/alert.ts';
import { ChannelError } from '../../src/alerts/channels/channel.ts';
import { Delivery, RETRY_DELAYS_MS, redact } from '../../src/alerts/delivery.ts';
import { mockClock, recordingLogger, START } from './kit.ts';

const settle = () => new Promise((resolve) => setImmediate(resolve));
const SECRET = 'SECdeadbeef0123456789';

function setup(t: TestContext, options: { retry?: false; failures?: number } = {}) {
  const clock = mockClock(t);
  const { log, messages } = recordingLogger();
  const attempts: [string, number][] = [];
  let failures = options.failures ?? 0;
  const delivery = new Delivery(
    {
      label: 'dingtalk oapi.dingtalk.com',
      secrets: [SECRET],
      ...(options.retry === false ? { retry: false as const } : {}),
      send: async (alert) => {
        attempts.push([alert.text, Date.now() - START]);
        if (failures > 0) {
          failures--;
          throw new ChannelError(`errcode 310000: sign not match (sign ${SECRET})`);
        }
      },
    },
    { type: 'dingtalk', events: ['test', 'relay_start'] },
    log,
  );
  /** Move the clock `ms` forward one timer at a time, letting each attempt settle. */
  const run = async (ms: number) => {
    const end = Date.now() + ms;
    await settle();
    while (Date.now() < end) {
      clock.tick(Math.min(500, end - Date.now()));
      await settle();
    }
  };
  t.after(() => delivery.close());
  return { delivery, attempts, messages, run, setFailures: (n: number) => (failures = n) };
}

describe('Delivery', () => {
  it('retries a failing alert with backoff (1 s, 2 s, 4 s, ...) until it goes, logging the failure once and the recovery once', async (t) => {
    const { delivery, attempts, messages, run } = setup(t, { failures: 3 });
    delivery.push(relayAlert('test', 'one'));
    assert.equal(attempts.length, 1, 'the first attempt starts at once, and push did not wait for it');
    await run(10_000);
    assert.deepEqual(
      attempts.map(([, at]) => at),
      [0, 1000, 3000, 7000],
    );
    assert.deepEqual(messages('warn'), [
      'alert channel dingtalk oapi.dingtalk.com failed: errcode 310000: sign not match (sign ***) (each alert is tried 8 times with backoff; logged again once it delivers)',
    ]);
    assert.equal(messages('debug').length, 2, 'the later failures only at debug level');
    assert.equal(messages('info').length, 1);
    assert.match(messages('info')[0]!, /^alert channel dingtalk oapi\.dingtalk\.com delivers again/);
    assert.deepEqual(
      { ...delivery.status(), last_delivered: undefined },
      {
        name: 'dingtalk oapi.dingtalk.com',
        type: 'dingtalk',
        events: ['test', 'relay_start'],
        state: 'ok',
        delivered: 1,
        lost: 0,
        queued: 0,
        last_error: 'errcode 310000: sign not match (sign ***)',
        last_delivered: undefined,
      },
    );
  });

  it(`gives an alert up after ${RETRY_DELAYS_MS.length + 1} attempts, shows the channel failing, and goes on with the next in order`, async (t) => {
    const { delivery, attempts, run, setFailures } = setup(t, { failures: 100 });
    delivery.push(relayAlert('test', 'first'));
    delivery.push(relayAlert('test', 'second'));
    await run(2 * 124_000); // each alert's attempts take 0+1+2+4+8+16+32+60 s
    assert.equal(attempts.filter(([text]) => text === 'first').length, RETRY_DELAYS_MS.length + 1);
    const status = delivery.status();
    assert.equal(status.state, 'failing');
    assert.equal(status.failing_since, new Date(START).toISOString());
    assert.equal(status.lost, 2);
    const texts = attempts.map(([text]) => text);
    assert.ok(texts.indexOf('second') > texts.lastIndexOf('first'), 'in order');
    setFailures(0);
    delivery.push(relayAlert('test', 'third'));
    await run(1000);
    assert.equal(delivery.status().state, 'ok');
  });

  it('tries a channel that is not retried (a command) once per alert', async (t) => {
    const { delivery, attempts, run } = setup(t, { retry: false, failures: 1 });
    delivery.push(relayAlert('test', 'once'));
    await run(200_000);
    assert.equal(attempts.length, 1);
    assert.equal(delivery.status().lost, 1);
  });

  it('answers a test attempt with its result, the secrets taken out', async (t) => {
    const { delivery } = setup(t, { failures: 1 });
    const failed = await delivery.attempt(relayAlert('test', 'x'));
    assert.equal(failed.ok, false);
    assert.equal(failed.error, 'errcode 310000: sign not match (sign ***)');
    assert.equal((await delivery.attempt(relayAlert('test', 'y'))).ok, true);
  });

  it('wants only the events it was given', (t) => {
    const { delivery } = setup(t);
    assert.ok(delivery.wants('test'));
    assert.ok(!delivery.wants('link_down'));
  });
});

describe('redact', () => {
  it('replaces every secret, the longest first, and leaves short strings alone', () => {
    assert.equal(redact('https://x/robot?access_token=abcdef123&k=abc', ['abcdef123', 'abc']), 'https://x/robot?access_token=***&k=abc');
    assert.equal(redact('key abcd and abcdefgh', ['abcdefgh', 'abcd']), 'key *** and ***');
  });
});
