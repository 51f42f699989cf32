// The compat fixes one by one: what each rewrites or drops, and what it leaves alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMPAT_FIXES, type CompatFix, type Event, type FixOutcome } from '../../src/profile/compat.ts';

/** The fix applied to a copy: its outcome and the event after it. */
function run(name: CompatFix, event: Event): [FixOutcome, Event] {
  const copy = { ...event };
  return [COMPAT_FIXES[name](copy), copy];
}

const message = (fields: Event = {}): Event => ({
  time: 1_700_000_000,
  self_id: 10001,
  post_type: 'message',
  message_type: 'group',
  group_id: 30003,
  user_id: 20002,
  message: 'hi',
  raw_message: 'hi',
  font: 0,
  ...fields,
});
const notice = (notice_type: string, fields: Event = {}): Event => ({
  time: 1,
  self_id: 10001,
  post_type: 'notice',
  notice_type,
  ...fields,
});

describe('numericFont', () => {
  it('makes a decimal string its number, and any other font 0', () => {
    assert.deepEqual(run('numericFont', message({ font: '14' })), ['changed', message({ font: 14 })]);
    assert.deepEqual(run('numericFont', message({ font: '宋体' })), ['changed', message({ font: 0 })]);
    assert.deepEqual(run('numericFont', message({ font: 1.5 })), ['changed', message({ font: 0 })]);
    assert.deepEqual(run('numericFont', message({ font: null })), ['changed', message({ font: 0 })]);
    assert.deepEqual(run('numericFont', { ...message({ font: '3' }), post_type: 'message_sent' })[1].font, 3);
  });

  it('leaves an integer font, a message without one, and other events alone', () => {
    assert.deepEqual(run('numericFont', message({ font: 12 })), [undefined, message({ font: 12 })]);
    const { font: _, ...noFont } = message();
    assert.deepEqual(run('numericFont', noFont), [undefined, noFont]);
    assert.deepEqual(run('numericFont', notice('group_ban', { font: 'x' })), [undefined, notice('group_ban', { font: 'x' })]);
  });
});

describe('stringRawMessage', () => {
  const parts = [
    { col: '1', nm: 'Alice', type: 'qq', uid: 'u_1' },
    { jp: 'https://x', src: 'http://y/expression.jpg', type: 'img' },
    { txt: '拍了拍', type: 'nor' },
    { col: '1', nm: 'Bob', tp: '0', type: 'qq', uid: 'u_2' },
    { txt: '的脑袋', type: 'nor' },
  ];
  const poke = (fields: Event = {}) => notice('notify', { sub_type: 'poke', user_id: 1, target_id: 2, group_id: 3, ...fields });

  it("reads NapCat's poke parts as their text, and keeps them in raw_info", () => {
    const [outcome, fixed] = run('stringRawMessage', poke({ raw_message: parts }));
    assert.equal(outcome, 'changed');
    assert.equal(fixed.raw_message, 'Alice拍了拍Bob的脑袋');
    assert.deepEqual(fixed.raw_info, parts);
  });

  it('keeps a raw_info already there, and writes anything else as its JSON', () => {
    const [, fixed] = run('stringRawMessage', poke({ raw_message: { a: 1 }, raw_info: 'kept' }));
    assert.deepEqual([fixed.raw_message, fixed.raw_info], ['{"a":1}', 'kept']);
    assert.equal(run('stringRawMessage', poke({ raw_message: 42 }))[1].raw_message, '42');
    assert.equal(run('stringRawMessage', poke({ raw_message: null }))[1].raw_message, 'null');
  });

  it('leaves a string raw_message, and events without one, alone', () => {
    assert.deepEqual(run('stringRawMessage', message()), [undefined, message()]);
    assert.deepEqual(run('stringRawMessage', poke()), [undefined, poke()]);
  });
});

describe('dropNonStandardNotices', () => {
  it("drops NapCat's own notices", () => {
    const napcat = [
      notice('notify', { sub_type: 'input_status', status_text: '对方正在输入...', event_type: 1, user_id: 2 }),
      notice('notify', { sub_type: 'profile_like', operator_id: 2, times: 1 }),
      notice('notify', { sub_type: 'gray_tip' }),
      notice('notify', { sub_type: 'group_name', name_new: 'x' }),
      notice('group_msg_emoji_like', { likes: [] }),
      notice('bot_offline', { tag: 't', message: 'm' }),
      notice('online_file_send', { sub_type: 'receive' }),
      notice('notify'),
      { time: 1, self_id: 1, post_type: 'notice' },
    ];
    for (const event of napcat) assert.equal(run('dropNonStandardNotices', event)[0], 'drop', JSON.stringify(event));
  });

  it("keeps OneBot v11's notices, go-cqhttp's documented ones, and every other kind of event", () => {
    const kept = [
      ...[
        'group_upload',
        'group_admin',
        'group_decrease',
        'group_increase',
        'group_ban',
        'friend_add',
        'group_recall',
        'friend_recall',
      ].map((t) => notice(t)),
      ...['group_card', 'offline_file', 'client_status', 'essence'].map((t) => notice(t)),
      ...['poke', 'lucky_king', 'honor', 'title'].map((sub_type) => notice('notify', { sub_type })),
      message(),
      { time: 1, self_id: 1, post_type: 'request', request_type: 'friend' },
      { time: 1, self_id: 1, post_type: 'meta_event', meta_event_type: 'heartbeat' },
    ];
    for (const event of kept) assert.deepEqual(run('dropNonStandardNotices', event), [undefined, event]);
  });
});

describe('integerIds', () => {
  it('turns decimal strings in time, self_id, user_id and group_id into numbers', () => {
    const stringy = message({ time: '1700000000', self_id: '10001', user_id: '20002', group_id: '30003' });
    assert.deepEqual(run('integerIds', stringy), ['changed', message()]);
    assert.deepEqual(run('integerIds', message({ user_id: '-1' }))[1].user_id, -1);
  });

  it('leaves numbers, other fields, and strings that are no safe integer alone', () => {
    assert.deepEqual(run('integerIds', message()), [undefined, message()]);
    const odd = message({ user_id: 'abc', group_id: '12345678901234567', time: '1.5', message_id: '7' });
    assert.deepEqual(run('integerIds', odd), [undefined, odd]);
    assert.deepEqual(run('integerIds', message({ self_id: '' }))[0], undefined);
  });
});
