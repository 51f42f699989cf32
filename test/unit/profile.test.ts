// Delivery profiles: what each setting does to an event's text, the bytes left alone when nothing changes,
// replies that carry messages, and one conversion per distinct profile per event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutgoingEvent, Profile, type ProfileSettings } from '../../src/profile/profile.ts';
import { groupEvent } from './kit.ts';

const arrayMessage = [
  { type: 'text', data: { text: 'hi [x] & ' } },
  { type: 'at', data: { qq: '10001' } },
];
const stringMessage = 'hi &#91;x&#93; &amp; [CQ:at,qq=10001]';

const group = (fields: Record<string, unknown> = {}) =>
  groupEvent({ message_id: 7, message: arrayMessage, raw_message: stringMessage, ...fields });
const heartbeat = {
  time: 1,
  self_id: 10001,
  post_type: 'meta_event',
  meta_event_type: 'heartbeat',
  status: { online: true, good: true },
  interval: 5000,
};

/** What a client with `settings` gets for `event` (written with odd spacing, to show when bytes are kept). */
function deliver(settings: ProfileSettings, event: unknown): { text: string; out: string | undefined } {
  const text = JSON.stringify(event, null, 1);
  const profile = Profile.of(settings);
  return { text, out: new OutgoingEvent(text).for(profile) };
}
const parsed = (out: string | undefined) => (out === undefined ? undefined : JSON.parse(out));

describe('Profile.of', () => {
  it('is no profile when the settings ask for nothing', () => {
    for (const settings of [undefined, {}, { reportSelfMessage: true }, { compat: [] }]) assert.equal(Profile.of(settings), undefined);
  });

  it('gives equal settings an equal key, whatever the order of compat', () => {
    const a = Profile.of({ compat: ['numericFont', 'integerIds'], messagePostFormat: 'string' })!;
    const b = Profile.of({ messagePostFormat: 'string', compat: ['integerIds', 'numericFont', 'integerIds'] })!;
    assert.equal(a.key, b.key);
    assert.notEqual(a.key, Profile.of({ messagePostFormat: 'array' })!.key);
  });
});

describe('messagePostFormat', () => {
  it('"string" writes a segment array as a CQ string; raw_message stays', () => {
    const { out } = deliver({ messagePostFormat: 'string' }, group());
    assert.deepEqual(parsed(out), group({ message: stringMessage }));
  });

  it('"array" parses a CQ string into segments', () => {
    const { out } = deliver({ messagePostFormat: 'array' }, group({ message: stringMessage }));
    assert.deepEqual(parsed(out), group());
  });

  it("converts message_sent too, and sets NapCat's message_format when it is there", () => {
    const sent = { ...group({ message_format: 'array' }), post_type: 'message_sent' };
    const { out } = deliver({ messagePostFormat: 'string' }, sent);
    assert.deepEqual(parsed(out), { ...sent, message: stringMessage, message_format: 'string' });
  });

  it('keeps the exact bytes of a message already in the wanted format, and of other events', () => {
    for (const [settings, event] of [
      [{ messagePostFormat: 'array' }, group()],
      [{ messagePostFormat: 'string' }, group({ message: stringMessage })],
      [{ messagePostFormat: 'string' }, { time: 1, self_id: 1, post_type: 'notice', notice_type: 'group_ban', message: arrayMessage }],
      [{ messagePostFormat: 'string' }, heartbeat],
    ] as const) {
      const { text, out } = deliver(settings, event);
      assert.equal(out, text);
    }
  });

  it('passes a message that cannot take the other shape as it came', () => {
    const odd = group({ message: [{ type: 'a b', data: {} }] });
    const { text, out } = deliver({ messagePostFormat: 'string' }, odd);
    assert.equal(out, text);
    const numeric = group({ message: 42 });
    assert.equal(deliver({ messagePostFormat: 'array' }, numeric).out, deliver({}, numeric).text);
  });
});

describe('reportSelfMessage: false', () => {
  it('drops message_sent and messages the account sent itself, and nothing else', () => {
    const settings = { reportSelfMessage: false };
    assert.equal(deliver(settings, { ...group(), post_type: 'message_sent' }).out, undefined);
    assert.equal(deliver(settings, group({ user_id: 10001 })).out, undefined);
    assert.equal(deliver(settings, group({ user_id: '10001' })).out, undefined, 'compared as text');
    const other = deliver(settings, group());
    assert.equal(other.out, other.text);
    const notice = deliver(settings, { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'group_recall', user_id: 10001 });
    assert.equal(notice.out, notice.text);
  });
});

describe('filter', () => {
  it('drops what it does not pass and keeps the exact bytes of what it does', () => {
    const settings = { filter: { group_id: { '.in': [30003] } } };
    const kept = deliver(settings, group());
    assert.equal(kept.out, kept.text);
    assert.equal(deliver(settings, group({ group_id: 1 })).out, undefined);
  });

  it('lets meta events through whatever it says', () => {
    const { text, out } = deliver({ filter: { '.not': {} } }, heartbeat);
    assert.equal(out, text);
  });

  it("sees the message in the client's format", () => {
    const settings: ProfileSettings = { messagePostFormat: 'string', filter: { message: { '.regex': '^hi .*\\[CQ:at' } } };
    assert.deepEqual(parsed(deliver(settings, group()).out), group({ message: stringMessage }));
    assert.equal(deliver({ filter: settings.filter }, group()).out, undefined, 'in array format it does not match');
  });

  it('sees the event after the compat fixes', () => {
    const settings: ProfileSettings = {
      compat: ['integerIds'],
      filter: { user_id: { '.regex': '^\\d+$' }, '.not': { user_id: { '.regex': '"' } } },
    };
    assert.equal(parsed(deliver(settings, group({ user_id: '20002' })).out).user_id, 20002);
  });
});

describe('compat', () => {
  it('applies the listed fixes and re-serializes only what they changed', () => {
    const settings: ProfileSettings = { compat: ['numericFont', 'dropNonStandardNotices'] };
    assert.deepEqual(parsed(deliver(settings, group({ font: 'Arial' })).out), group({ font: 0 }));
    const inputStatus = { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'notify', sub_type: 'input_status', user_id: 2 };
    assert.equal(deliver(settings, inputStatus).out, undefined);
    const plain = deliver(settings, group());
    assert.equal(plain.out, plain.text);
  });

  it('leaves fixes that are not listed alone', () => {
    const { text, out } = deliver({ compat: ['integerIds'] }, group({ font: 'Arial' }));
    assert.equal(out, text);
  });
});

describe('what a profile does not touch', () => {
  it('passes text that is not a JSON object as it came', () => {
    for (const text of ['not json', '[1,2]', '"s"', 'null'])
      assert.equal(new OutgoingEvent(text).for(Profile.of({ reportSelfMessage: false })), text);
  });

  it('gives a client without a profile the exact bytes', () => {
    const event = new OutgoingEvent('{ "post_type" : "message" }');
    assert.equal(event.for(undefined), '{ "post_type" : "message" }');
  });
});

describe('OutgoingEvent', () => {
  it('converts once per distinct profile, whatever the number of clients sharing it', (t) => {
    const strings = [Profile.of({ messagePostFormat: 'string' }), Profile.of({ messagePostFormat: 'string' })];
    const fonts = Profile.of({ compat: ['numericFont'] });
    const parse = t.mock.method(JSON, 'parse');
    const conversions = t.mock.method(Profile.prototype, 'event');
    const text = JSON.stringify(group());
    const event = new OutgoingEvent(text);
    const outs = [...strings, fonts, ...strings, fonts, undefined].map((p) => event.for(p));
    assert.equal(parse.mock.callCount(), 1, 'the event is read once');
    assert.equal(conversions.mock.callCount(), 2, 'one conversion for the two "string" profiles, one for the font profile');
    assert.deepEqual(parsed(outs[0]), group({ message: stringMessage }));
    assert.equal(outs[0], outs[1]);
    assert.equal(outs[2], text);
    assert.equal(outs[6], text);
  });

  it('hands every client without a profile the same bytes: those that arrived when they own their memory and are UTF-8', () => {
    const text = JSON.stringify(group());
    const own = Buffer.from(new TextEncoder().encode(text).buffer); // a whole ArrayBuffer of its own
    const exact = new OutgoingEvent(own).copyFor(undefined)!;
    assert.equal(exact.bytes, own, 'used as they are');
    assert.equal(exact.text, text, 'read as text when asked');
    const slice = Buffer.from(`xx${text}`).subarray(2);
    const fromSlice = new OutgoingEvent(slice).copyFor(undefined)!;
    assert.notEqual(fromSlice.bytes, slice, 'a slice of a larger read is not kept');
    assert.deepEqual(fromSlice.bytes, slice);
    const invalid = Buffer.from([0x7b, 0xff, 0x7d]);
    assert.deepEqual(new OutgoingEvent(invalid).copyFor(undefined)!.bytes, Buffer.from(invalid.toString()));
    assert.equal(
      new OutgoingEvent(own).for(Profile.of({ messagePostFormat: 'string' })),
      JSON.stringify(group({ message: stringMessage })),
      'read whole for a profile',
    );
    const event = new OutgoingEvent(text);
    assert.equal(event.copyFor(undefined)!.bytes, event.copyFor(undefined)!.bytes, 'encoded once');
    assert.deepEqual(event.copyFor(undefined)!.bytes, Buffer.from(text));
  });

  it('remembers a drop too', () => {
    const event = new OutgoingEvent(JSON.stringify({ ...group(), post_type: 'message_sent' }));
    const profile = Profile.of({ reportSelfMessage: false });
    assert.equal(event.for(profile), undefined);
    assert.equal(event.for(profile), undefined);
  });
});

describe('replies', () => {
  const ok = (data: unknown) => ({ status: 'ok', retcode: 0, data, echo: 'e' });
  const stringy = Profile.of({ messagePostFormat: 'string' })!;
  const arrayish = Profile.of({ messagePostFormat: 'array' })!;

  it("get_msg: data.message in the caller's format", () => {
    const reply = ok({ message_id: 7, message: arrayMessage, raw_message: stringMessage, message_format: 'array' });
    assert.deepEqual(
      stringy.reply('get_msg', reply),
      ok({ message_id: 7, message: stringMessage, raw_message: stringMessage, message_format: 'string' }),
    );
    assert.equal(arrayish.reply('get_msg', reply), reply, 'already in its format: the same object');
  });

  it('get_forward_msg, get_group_msg_history, get_friend_msg_history: each message of data.messages', () => {
    const items = [{ content: stringMessage, sender: { nickname: 'a' } }, { message: stringMessage, message_id: 1 }, 'not an object'];
    for (const action of ['get_forward_msg', 'get_group_msg_history', 'get_friend_msg_history']) {
      const reply = arrayish.reply(action, ok({ messages: items }));
      assert.deepEqual(
        reply,
        ok({ messages: [{ content: arrayMessage, sender: { nickname: 'a' } }, { message: arrayMessage, message_id: 1 }, 'not an object'] }),
      );
    }
  });

  it('leaves other replies, failures and odd shapes as they are', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['send_msg', ok({ message_id: 1, message: arrayMessage })],
      ['get_msg', { status: 'failed', retcode: 100, data: null }],
      ['get_msg', ok('text')],
      ['get_forward_msg', ok({ messages: 'x' })],
      ['get_group_msg_history', ok({ messages: [{ message_id: 1 }] })],
    ];
    for (const [action, reply] of cases) assert.equal(stringy.reply(action, reply), reply, action);
    const filterOnly = Profile.of({ filter: {} })!;
    const reply = ok({ message: arrayMessage });
    assert.equal(filterOnly.reply('get_msg', reply), reply);
  });
});
