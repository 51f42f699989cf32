// The event filter: each operator, dotted paths, go-cqhttp's documented examples (docs/EventFilter.md there)
// against events that must pass and events that must not, and the errors a malformed filter gets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, FilterError } from '../../src/profile/event-filter.ts';
import { groupEvent as group } from './kit.ts';

const privateMessage = (fields: Record<string, unknown> = {}) => {
  const { group_id: _, anonymous: __, ...rest } = group({ message_type: 'private', sub_type: 'friend', ...fields });
  return rest;
};

/** Which of `events` the filter lets through, by index. */
function passing(spec: unknown, events: unknown[]): number[] {
  const filter = compileFilter(spec);
  return events.flatMap((e, i) => (filter(e) ? [i] : []));
}

describe('event filter operators', () => {
  it('an empty filter passes everything; {".not": {}} nothing', () => {
    const events = [group(), privateMessage(), { post_type: 'notice' }];
    assert.deepEqual(passing({}, events), [0, 1, 2]);
    assert.deepEqual(passing({ '.not': {} }, events), []);
  });

  it('a plain key compares by equality, as text: 20002 equals "20002"', () => {
    const events = [group(), group({ user_id: '20002' }), group({ user_id: 20003 })];
    assert.deepEqual(passing({ user_id: 20002 }, events), [0, 1]);
    assert.deepEqual(passing({ user_id: '20002' }, events), [0, 1]);
  });

  it('every key of an object must match (and)', () => {
    const events = [group(), group({ group_id: 1 }), privateMessage()];
    assert.deepEqual(passing({ message_type: 'group', group_id: 30003 }, events), [0]);
  });

  it('.eq and .neq; null and a missing key are both ""', () => {
    const events = [group(), group({ anonymous: { id: 1, name: 'a' } }), privateMessage()];
    assert.deepEqual(passing({ anonymous: { '.eq': null } }, events), [0, 2]);
    assert.deepEqual(passing({ anonymous: { '.neq': null } }, events), [1]);
    assert.deepEqual(passing({ user_id: { '.neq': 20002 } }, [group(), group({ user_id: 5 })]), [1]);
    assert.deepEqual(passing({ missing: '' }, [group()]), [0]);
  });

  it('.eq on an object or a list compares its compact JSON', () => {
    const events = [group(), group({ message: [{ type: 'face', data: { id: '1' } }] })];
    assert.deepEqual(passing({ message: { '.eq': [{ type: 'text', data: { text: 'hi' } }] } }, events), [0]);
    assert.deepEqual(passing({ '.eq': 'x' }, ['x', 'y', 5]), [0]);
  });

  it('.not applies its object to the value at hand', () => {
    const events = [group(), group({ user_id: 1 }), group({ user_id: 2 })];
    assert.deepEqual(passing({ user_id: { '.not': { '.in': [1, 2] } } }, events), [0]);
    assert.deepEqual(passing({ '.not': { message_type: 'group' } }, [group(), privateMessage()]), [1]);
  });

  it('.and groups operators on one value, or keys of an object', () => {
    const events = [group(), group({ user_id: 1 }), group({ user_id: 99_999 })];
    assert.deepEqual(passing({ user_id: { '.and': { '.neq': 1, '.not': { '.eq': 99_999 } } } }, events), [0]);
    assert.deepEqual(passing({ user_id: { '.and': { '.not': { '.eq': 1 } } }, '.and': { group_id: 30003 } }, events), [0, 2]);
  });

  it('.or passes when any of its objects does; an empty .or passes nothing', () => {
    const events = [group(), privateMessage(), group({ group_id: 1 })];
    assert.deepEqual(passing({ '.or': [{ message_type: 'private' }, { group_id: 1 }] }, events), [1, 2]);
    assert.deepEqual(passing({ '.or': [] }, events), []);
  });

  it('.in with a list: the value is one of them, compared as text', () => {
    const events = [group(), group({ group_id: '11111' }), group({ group_id: 22222 })];
    assert.deepEqual(passing({ group_id: { '.in': [11111, 22222] } }, events), [1, 2]);
    assert.deepEqual(passing({ group_id: { '.in': ['11111'] } }, events), [1]);
  });

  it('.in with a string: the value is part of that string (as in go-cqhttp)', () => {
    const events = [group({ message_type: 'group' }), privateMessage(), group({ message_type: 'guild' })];
    assert.deepEqual(passing({ message_type: { '.in': 'group|private' } }, events), [0, 1]);
    assert.deepEqual(passing({ user_id: { '.in': 'users: 20002, 20003' } }, [group(), group({ user_id: 5 })]), [0]);
  });

  it('.contains: the value, as text, contains the string', () => {
    const events = [group({ raw_message: '今日通知：开会' }), group({ raw_message: 'hello' }), group({ raw_message: null })];
    assert.deepEqual(passing({ raw_message: { '.contains': '通知' } }, events), [0]);
    assert.deepEqual(passing({ user_id: { '.contains': 200 } }, [group(), group({ user_id: 1 })]), [0]);
  });

  it('.regex searches the value, as text, with a JavaScript pattern', () => {
    const events = [group({ raw_message: '!!roll' }), group({ raw_message: 'a !!b' }), group({ raw_message: 'HELLO' })];
    assert.deepEqual(passing({ raw_message: { '.regex': '^!!' } }, events), [0]);
    assert.deepEqual(passing({ raw_message: { '.regex': 'hello' } }, events), []);
    assert.deepEqual(passing({ group_id: { '.regex': '^300' } }, [group(), group({ group_id: 1 })]), [0]);
  });

  it(".regex takes Go's leading flags and (?P<name>...) groups", () => {
    const events = [group({ raw_message: 'HELLO' }), group({ raw_message: 'bye' })];
    assert.deepEqual(passing({ raw_message: { '.regex': '(?i)hello' } }, events), [0]);
    assert.deepEqual(passing({ raw_message: { '.regex': '^(?P<word>[A-Z]+)$' } }, events), [0]);
  });

  it('.regex matches characters, not UTF-16 halves', () => {
    assert.deepEqual(passing({ raw_message: { '.regex': '^.$' } }, [group({ raw_message: '😀' }), group({ raw_message: '😀😀' })]), [0]);
  });

  it('operators nest under paths and inside .or', () => {
    const spec = { '.or': [{ sender: { sex: { '.in': ['female'] } } }, { 'sender.user_id': { '.neq': 20002 } }] };
    const events = [group(), group({ sender: { user_id: 1, sex: 'male' } }), group({ sender: { user_id: 20002, sex: 'female' } })];
    assert.deepEqual(passing(spec, events), [1, 2]);
  });
});

describe('event filter paths', () => {
  it('a dotted key is the same as nested objects', () => {
    const events = [group(), group({ sender: { sex: 'female' } })];
    assert.deepEqual(passing({ sender: { sex: 'male' } }, events), [0]);
    assert.deepEqual(passing({ 'sender.sex': 'male' }, events), [0]);
  });

  it("numbers index lists; # is a list's length", () => {
    const events = [
      group(),
      group({
        message: [
          { type: 'image', data: {} },
          { type: 'text', data: {} },
        ],
      }),
    ];
    assert.deepEqual(passing({ 'message.0.type': 'text' }, events), [0]);
    assert.deepEqual(passing({ 'message.1.type': 'text' }, events), [1]);
    assert.deepEqual(passing({ 'message.#': 2 }, events), [1]);
  });

  it('a path through something that is not there, or not an object, is missing', () => {
    const events = [group(), group({ sender: 'x' }), group({ message: 'hi' })];
    assert.deepEqual(passing({ 'sender.card.x': { '.eq': null } }, events), [0, 1, 2]);
    assert.deepEqual(passing({ 'message.0.type': '' }, events), [2], 'a string has no element 0');
    assert.deepEqual(passing({ 'toString.x': { '.neq': '' } }, events), [], 'no inherited properties');
  });

  it('\\. is a dot inside a key', () => {
    assert.deepEqual(passing({ 'a\\.b': 1 }, [{ 'a.b': 1 }, { a: { b: 1 } }]), [0]);
  });
});

describe("go-cqhttp's documented examples", () => {
  it('only messages starting with "!!"', () => {
    const events = [group({ raw_message: '!!help' }), group({ raw_message: 'help !!' }), privateMessage({ raw_message: '!!x' })];
    assert.deepEqual(passing({ raw_message: { '.regex': '^!!' } }, events), [0, 2]);
  });

  it('only non-anonymous group messages', () => {
    const events = [group(), group({ anonymous: { id: 1, name: 'x', flag: 'f' } }), privateMessage(), group({ anonymous: undefined })];
    assert.deepEqual(passing({ message_type: 'group', anonymous: { '.eq': null } }, events), [0, 3]);
  });

  it('private messages, or non-anonymous messages of certain groups', () => {
    const spec = {
      '.or': [{ message_type: 'private' }, { message_type: 'group', group_id: { '.in': [123456] }, anonymous: { '.eq': null } }],
    };
    const events = [
      privateMessage(),
      group({ group_id: 123456 }),
      group({ group_id: 123456, anonymous: { id: 1 } }),
      group({ group_id: 654321 }),
    ];
    assert.deepEqual(passing(spec, events), [0, 1]);
  });

  it('groups 11111, 22222, 33333 except user 12345, and everything from user 66666', () => {
    const spec = { '.or': [{ group_id: { '.in': [11111, 22222, 33333] }, user_id: { '.neq': 12345 } }, { user_id: 66666 }] };
    const events = [
      group({ group_id: 11111, user_id: 1 }),
      group({ group_id: 22222, user_id: 12345 }),
      group({ group_id: 44444, user_id: 1 }),
      group({ group_id: 44444, user_id: 66666 }),
      privateMessage({ user_id: 66666 }),
    ];
    assert.deepEqual(passing(spec, events), [0, 3, 4]);
  });

  it('the more complex example', () => {
    const spec = {
      '.or': [
        { message_type: 'private', user_id: { '.not': { '.in': [11111, 22222, 33333] }, '.neq': 44444 } },
        { message_type: { '.regex': 'group|discuss' }, '.or': [{ group_id: 12345 }, { raw_message: { '.contains': '通知' } }] },
      ],
    };
    const events = [
      privateMessage({ user_id: 1 }),
      privateMessage({ user_id: 22222 }),
      privateMessage({ user_id: 44444 }),
      group({ group_id: 12345 }),
      group({ group_id: 1, raw_message: '重要通知' }),
      group({ group_id: 1, raw_message: 'chat' }),
      { ...group({ group_id: 1, raw_message: '通知' }), message_type: 'discuss' },
    ];
    assert.deepEqual(passing(spec, events), [0, 3, 4, 6]);
  });

  it('the nested-value and list-index forms of the advanced guide', () => {
    assert.deepEqual(passing({ sender: { sex: 'male' } }, [group(), group({ sender: { sex: 'female' } })]), [0]);
    assert.deepEqual(passing({ 'sender.sex': 'male' }, [group(), group({ sender: { sex: 'female' } })]), [0]);
    assert.deepEqual(passing({ 'message.0.type': 'text' }, [group(), group({ message: [{ type: 'face', data: {} }] })]), [0]);
  });
});

describe('malformed filters', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not an object', [], /^at \(the whole filter\): expected an object, got a list$/],
    ['null', null, /^at \(the whole filter\): expected an object, got null$/],
    [
      'an unknown operator',
      { user_id: { '.gt': 5 } },
      /^at \["user_id"\]\["\.gt"\]: unknown operator "\.gt" \(expected one of \.not \.and \.or \.eq \.neq \.in \.contains \.regex\)$/,
    ],
    ['.not with a list', { '.not': [] }, /^at \["\.not"\]: expected an object, got a list$/],
    ['.and with a string', { '.and': 'x' }, /^at \["\.and"\]: expected an object, got a string$/],
    ['.or with an object', { '.or': {} }, /^at \["\.or"\]: expected a list of objects, got an object$/],
    ['.or with a string among its objects', { '.or': [{}, 'x'] }, /^at \["\.or"\]\[1\]: expected an object, got a string$/],
    [
      '.in with an object',
      { '.or': [{ group_id: { '.in': { a: 1 } } }] },
      /^at \["\.or"\]\[0\]\["group_id"\]\["\.in"\]: expected a list or a string, got an object$/,
    ],
    [
      '.contains with a list',
      { raw_message: { '.contains': ['a'] } },
      /^at \["raw_message"\]\["\.contains"\]: expected a string, got a list$/,
    ],
    ['.regex with an object', { raw_message: { '.regex': {} } }, /^at \["raw_message"\]\["\.regex"\]: expected a string, got an object$/],
    [
      '.regex that does not compile',
      { raw_message: { '.regex': '(' } },
      /^at \["raw_message"\]\["\.regex"\]: expected a regular expression: .+/,
    ],
    [
      '.regex with a flag JavaScript lacks',
      { raw_message: { '.regex': '(?U)a+' } },
      /^at \["raw_message"\]\["\.regex"\]: expected a regular expression: flag "U" is not supported/,
    ],
    ['an empty key', { '': 1 }, /^at \[""\]: expected a field path or an operator, got an empty key$/],
    ['a GJSON wildcard', { 'sender.*': 1 }, /^at \["sender\.\*"\]: expected a dotted path .*not supported\)$/],
    ['a GJSON query', { 'message.#(type=="text").data': 1 }, /^at \["message\.#\(type==\\"text\\"\)\.data"\]: expected a dotted path/],
    ['a GJSON modifier', { '@reverse': 1 }, /^at \["@reverse"\]: expected a dotted path/],
  ];
  for (const [what, spec, message] of cases) {
    it(what, () => {
      assert.throws(
        () => compileFilter(spec),
        (err: Error) => err instanceof FilterError && message.test(err.message),
      );
    });
  }
});
