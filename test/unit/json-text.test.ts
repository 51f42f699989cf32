import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withField } from '../../src/json-text.ts';

describe('withField', () => {
  it('replaces a top-level value where it stands, leaving every other byte alone', () => {
    const text = '{ "action" : "send_msg", "echo":  "a",\n "params": {"x": 1.50} }';
    assert.equal(withField(text, 'echo', '"relay:1"'), '{ "action" : "send_msg", "echo":  "relay:1",\n "params": {"x": 1.50} }');
  });

  it('replaces values of every kind, the last member included', () => {
    for (const old of ['"e"', '17', '-1.5e3', 'true', 'null', '{"a":[1,{"b":"}"}]}', '[1,"]",[2]]']) {
      const text = `{"action":"a","params":{},"echo":${old}}`;
      assert.equal(withField(text, 'echo', '"relay:2"'), '{"action":"a","params":{},"echo":"relay:2"}', old);
    }
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
