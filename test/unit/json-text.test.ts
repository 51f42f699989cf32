import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldBytes, readJson, withField as withFieldOf } from '../../src/json-text.ts';

/** withField on text, for the readability of these cases. */
const withField = (text: string, key: string, json: string) => withFieldOf(Buffer.from(text), key, json).toString();

describe('withField', () => {
  it('replaces a top-level value where it stands, leaving every other byte alone', () => {
    const text = '{ "action" : "send_msg", "echo":  "a",\n "params": {"x": 1.50} }';
    assert.equal(withField(text, 'echo', '"relay:1"'), '{ "action" : "send_msg", "echo":  "relay:1",\n "params": {"x": 1.50} }');
  });

  it('replaces values of every kind, the last member included', () => {
    for (const old of ['"e"', '17', '-1.5e3', 'true', 'null', '{"a":[1,{"b":"}"}]}', '[1,"]",[2]]']) {
      const text = `{"action":"a","params":{},"echo":${old}}`;
      const padding = ' '.repeat(Math.max(0, old.length - '"relay:2"'.length));
      assert.equal(withField(text, 'echo', '"relay:2"'), `{"action":"a","params":{},"echo":"relay:2"${padding}}`, old);
    }
  });

  it('writes a value that fits over the old one in the frame itself, and a longer one into a new frame', () => {
    const frame = Buffer.from('{"action":"a","echo":"client-7","params":{}}');
    const same = withFieldOf(frame, 'echo', '42');
    assert.equal(same, frame, 'the same buffer: nothing copied');
    assert.equal(frame.toString(), '{"action":"a","echo":42        ,"params":{}}');
    assert.deepEqual(JSON.parse(frame.toString()), { action: 'a', echo: 42, params: {} });
    const text = '{"action":"a","echo":1}';
    const short = Buffer.from(text);
    const longer = withFieldOf(short, 'echo', '12345');
    assert.notEqual(longer, short);
    assert.equal(short.toString(), text, 'the frame passed is left alone');
    assert.equal(longer.toString(), '{"action":"a","echo":12345}');
  });

  it('skips strings with quotes, backslashes and brackets in them, and the same key deeper down', () => {
    const text = String.raw`{"params":{"echo":"inner","t":"a \"}\" b \\","u":"\\\"{"},"note":"x\\","echo":"outer"}`;
    const out = withField(text, 'echo', '"relay:3"');
    assert.deepEqual(JSON.parse(out), { ...JSON.parse(text), echo: 'relay:3' });
    assert.equal(out.replace('"relay:3"', '"outer"'), text);
  });

  it('recognises the key written with escapes', () => {
    assert.equal(JSON.parse(withField(String.raw`{"\u0065cho":"x","a":1}`, 'echo', '"y"')).echo, 'y');
  });

  it('adds the key at the end when there is none', () => {
    assert.equal(withField('{"action":"a","params":{"p":[1]}}', 'echo', '"relay:4"'), '{"action":"a","params":{"p":[1]},"echo":"relay:4"}');
    assert.equal(withField(' { "action" : "a" } ', 'echo', '1'), ' { "action" : "a","echo":1} ');
    assert.equal(withField('{ }', 'echo', '1'), '{"echo":1}');
  });

  it('gives what JSON.parse and JSON.stringify would, for frames with a large string', () => {
    const image = `base64://${'QUJD'.repeat(250_000)}`;
    const frame = {
      action: 'send_group_msg',
      params: { group_id: 1, message: [{ type: 'image', data: { file: image } }] },
      echo: { n: 1 },
    };
    const out = withField(JSON.stringify(frame), 'echo', '"relay:5"');
    assert.equal(out, JSON.stringify({ ...frame, echo: 'relay:5' }));
  });
});

describe('fieldBytes', () => {
  it('gives a top-level value’s bytes as they stand, without the same key deeper down, and undefined when there is none', () => {
    const frame = Buffer.from('{"params":{"echo":1, "t": [ "}" ]}, "echo" : { "seq" : 2 } }');
    assert.equal(fieldBytes(frame, 'params')?.toString(), '{"echo":1, "t": [ "}" ]}');
    assert.equal(fieldBytes(frame, 'echo')?.toString(), '{ "seq" : 2 }');
    assert.equal(fieldBytes(frame, 'action'), undefined);
    assert.equal(fieldBytes(frame, 'params')!.buffer, frame.buffer, 'a view, not a copy');
  });

  it('finds a key written with escapes, and not a longer or shorter one', () => {
    assert.equal(fieldBytes(Buffer.from('{"ti\\u006de":5,"x":1}'), 'time')?.toString(), '5');
    assert.equal(fieldBytes(Buffer.from('{"times":5,"tim":6,"群":7}'), 'time'), undefined);
  });
});

describe('readJson', () => {
  const image = `base64://${'QUJD'.repeat(100_000)}`;
  const event = (file: string, extra: Record<string, unknown> = {}) =>
    Buffer.from(
      JSON.stringify({
        post_type: 'message',
        self_id: 10001,
        group_id: 5,
        message: [
          { type: 'image', data: { file } },
          { type: 'text', data: { text: 'a "quoted" \\ word' } },
        ],
        ...extra,
      }),
    );

  it('reads a small frame whole', () => {
    const data = Buffer.from('{"a":"x","b":[1,2]}');
    assert.deepEqual(readJson(data), { json: { a: 'x', b: [1, 2] }, complete: true, read: data });
  });

  it('reads a large frame of long strings as its skeleton: every short value as it is, each long string a stand-in', () => {
    const { json, complete, read: skeleton } = readJson(event(image, { raw_message: `[CQ:image,file=${image}]` }), true);
    assert.equal(complete, false);
    assert.deepEqual(JSON.parse(skeleton.toString()), json, 'read from its skeleton');
    const read = json as {
      post_type: string;
      self_id: number;
      group_id: number;
      message: { data: { file?: string; text?: string } }[];
      raw_message: string;
    };
    assert.equal(read.post_type, 'message');
    assert.equal(read.self_id, 10001);
    assert.equal(read.group_id, 5);
    assert.equal(read.message[1]!.data.text, 'a "quoted" \\ word');
    assert.match(read.message[0]!.data.file!, new RegExp(`^\\[${image.length} bytes, CRC-32 \\d+\\]$`));
    assert.ok(read.raw_message.length < 100);
  });

  it('gives two large frames with different long strings different skeletons', () => {
    const other = `${image.slice(0, -4)}QUJE`;
    assert.equal(other.length, image.length);
    assert.notDeepEqual(readJson(event(image), true).json, readJson(event(other), true).json);
    assert.deepEqual(readJson(event(image), true).json, readJson(event(image), true).json);
    assert.deepEqual(readJson(event(image)).json, readJson(event(other)).json, 'only the length, unless asked to tell apart');
  });

  it('reads a large frame of many short strings whole (JSON.parse is faster there)', () => {
    const members = Array.from({ length: 5_000 }, (_, i) => ({ user_id: i, nickname: `member ${i}`, card: '' }));
    const data = Buffer.from(JSON.stringify({ status: 'ok', retcode: 0, data: members, echo: 'e' }));
    assert.deepEqual(readJson(data), { json: JSON.parse(data.toString()), complete: true, read: data });
  });

  it('throws a SyntaxError for what is not JSON, large or small', () => {
    assert.throws(() => readJson(Buffer.from('{"a":')), SyntaxError);
    assert.throws(() => readJson(Buffer.from(`{"a":"${image}`)), SyntaxError);
    assert.throws(() => readJson(Buffer.from(`{"a":"${image}" "b"}`)), SyntaxError);
  });
});
