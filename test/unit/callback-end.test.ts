// atCallbackEnd: work put off until the running code is done, what is sent before what is stored, each once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atCallbackEnd } from '../../src/callback-end.ts';

describe('atCallbackEnd', () => {
  it('runs the sends, then the stores, once the running code is done, before anything queued after it', async () => {
    const order: string[] = [];
    atCallbackEnd('store', () => order.push('store 1'));
    atCallbackEnd('send', () => order.push('send 1'));
    atCallbackEnd('send', () => order.push('send 2'));
    order.push('code');
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(order, ['code', 'send 1', 'send 2', 'store 1']);
  });

  it('runs before a timer or a read due at the same time, and afresh for the next callback', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('next callback'));
    atCallbackEnd('store', () => order.push('stored'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['stored', 'next callback']);
    atCallbackEnd('send', () => order.push('sent again'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['stored', 'next callback', 'sent again']);
  });
});
