// The plain checks on frames from the implementation: what reads as a reply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReplyFrame } from '../../src/onebot.ts';

describe('isReplyFrame', () => {
  it('takes replies as implementations write them: extra keys, no status, a stream chunk', () => {
    assert.ok(isReplyFrame({ status: 'ok', retcode: 0, data: { message_id: 1 }, echo: 7, message: '', wording: '' }));
    assert.ok(isReplyFrame({ retcode: 0, data: null, echo: '7' }));
    assert.ok(isReplyFrame({ status: 'ok', retcode: 0, data: { type: 'stream' }, stream: 'stream-action', echo: 7 }));
    assert.ok(isReplyFrame({}));
  });

  it('refuses a status, retcode or stream of the wrong type', () => {
    assert.equal(isReplyFrame({ status: 0, retcode: 0, echo: 7 }), false);
    assert.equal(isReplyFrame({ status: 'ok', retcode: '0', echo: 7 }), false);
    assert.equal(isReplyFrame({ status: 'ok', retcode: null, echo: 7 }), false);
    assert.equal(isReplyFrame({ status: 'ok', retcode: 0, stream: true, echo: 7 }), false);
  });
});
