// CQ codes by the OneBot v11 rules: a table of cases for each direction, then round trips over random
// segment arrays and random strings from a seeded generator (a failure names its seed and case).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCq, type Segment, toCq, toCqString, toSegments } from '../../src/profile/cq-code.ts';

const text = (t: string): Segment => ({ type: 'text', data: { text: t } });
const seg = (type: string, data: Record<string, unknown> = {}): Segment => ({ type, data });

describe('parseCq', () => {
  const cases: [string, string, Segment[]][] = [
    ['plain text', 'hello', [text('hello')]],
    ['the empty string', '', []],
    ['one code', '[CQ:face,id=178]', [seg('face', { id: '178' })]],
    [
      'text around codes',
      'hi [CQ:at,qq=10001] and [CQ:face,id=1]!',
      [text('hi '), seg('at', { qq: '10001' }), text(' and '), seg('face', { id: '1' }), text('!')],
    ],
    ['adjacent codes', '[CQ:at,qq=1][CQ:at,qq=2]', [seg('at', { qq: '1' }), seg('at', { qq: '2' })]],
    ['a code without parameters', '[CQ:shake]', [seg('shake')]],
    [
      'several parameters, in order',
      '[CQ:image,file=a.jpg,type=flash,url=http://x/y]',
      [seg('image', { file: 'a.jpg', type: 'flash', url: 'http://x/y' })],
    ],
    ['an empty value', '[CQ:at,qq=]', [seg('at', { qq: '' })]],
    ['several empty values', '[CQ:x,a=,b=]', [seg('x', { a: '', b: '' })]],
    ['= inside a value', '[CQ:image,url=http://x/?a=1]', [seg('image', { url: 'http://x/?a=1' })]],
    ['&amp; in text', 'a&amp;b', [text('a&b')]],
    ['&#91; and &#93; in text', '&#91;CQ:at,qq=1&#93;', [text('[CQ:at,qq=1]')]],
    ['&#44; in text (some implementations escape commas everywhere)', 'a&#44;b', [text('a,b')]],
    ['a , in text', 'a,b', [text('a,b')]],
    ['every escape in a value', '[CQ:x,v=&amp;&#91;&#93;&#44;]', [seg('x', { v: '&[],' })]],
    ['brackets and commas inside a value', '[CQ:json,data={"a":&#91;1&#44;2&#93;}]', [seg('json', { data: '{"a":[1,2]}' })]],
    ['an escape read once: &amp;#91; is the text &#91;', '&amp;#91;', [text('&#91;')]],
    ['an escape read once, in a value', '[CQ:x,v=&amp;#44;]', [seg('x', { v: '&#44;' })]],
    ['a & that starts no escape', 'a & b &c; &#92;', [text('a & b &c; &#92;')]],
    [
      'a & in a URL value, unescaped by a careless implementation',
      '[CQ:image,url=http://x/?a=1&b=2]',
      [seg('image', { url: 'http://x/?a=1&b=2' })],
    ],
    ['unicode text and values', '你好[CQ:at,qq=1,name=😀ü]🎉', [text('你好'), seg('at', { qq: '1', name: '😀ü' }), text('🎉')]],
    ['newlines in text and values', 'a\nb[CQ:x,v=c\nd]', [text('a\nb'), seg('x', { v: 'c\nd' })]],
    [
      'a type the relay does not know',
      '[CQ:mface,emoji_id=abc,key=k1,summary=&#91;x&#93;]',
      [seg('mface', { emoji_id: 'abc', key: 'k1', summary: '[x]' })],
    ],
    ['a type with dots and dashes', '[CQ:my.type-2,a_b=1]', [seg('my.type-2', { a_b: '1' })]],
    ['a text segment written as a code', '[CQ:text,text=hi]', [seg('text', { text: 'hi' })]],
    ['__proto__ as a parameter is an ordinary key', '[CQ:x,__proto__=1]', [{ type: 'x', data: JSON.parse('{"__proto__":"1"}') }]],
    ['a stray ] after a code', '[CQ:face,id=1]]', [seg('face', { id: '1' }), text(']')]],
    ['[CQ: inside a CQ-looking prefix', '[[CQ:face,id=1]', [text('['), seg('face', { id: '1' })]],
  ];
  for (const [what, input, expected] of cases) {
    it(what, () => assert.deepEqual(parseCq(input), expected));
  }

  // Malformed: passed as text, never dropped.
  const malformed: [string, string][] = [
    ['an unclosed code', '[CQ:at,qq=1'],
    ['an unclosed code at the end of text', 'see [CQ:image,file=a.jpg'],
    ['a code with no type', '[CQ:]'],
    ['a code with no type but parameters', '[CQ:,a=1]'],
    ['a parameter without =', '[CQ:at,qq]'],
    ['a parameter without a name', '[CQ:at,=1]'],
    ['a trailing comma', '[CQ:shake,]'],
    ['a space after the comma', '[CQ:face, id=1]'],
    ['a space in the type', '[CQ: face,id=1]'],
    ['a raw [ inside a value', '[CQ:image,file=a[b].jpg]'],
    ['a repeated parameter', '[CQ:at,qq=1,qq=2]'],
    ['lower-case cq', '[cq:face,id=1]'],
    ['a lone [CQ:', '[CQ:'],
  ];
  for (const [what, input] of malformed) {
    it(`malformed, kept as text: ${what}`, () => assert.deepEqual(parseCq(input), [text(input)]));
  }

  it('keeps a malformed code as text between good ones', () => {
    assert.deepEqual(parseCq('[CQ:face,id=1] [CQ:at,qq] [CQ:face,id=2]'), [
      seg('face', { id: '1' }),
      text(' [CQ:at,qq] '),
      seg('face', { id: '2' }),
    ]);
    assert.deepEqual(parseCq('[CQ:at,qq=1,qq=2][CQ:face,id=3]'), [text('[CQ:at,qq=1,qq=2]'), seg('face', { id: '3' })]);
    assert.deepEqual(parseCq('[CQ:at,qq=1[CQ:face,id=2]'), [text('[CQ:at,qq=1'), seg('face', { id: '2' })]);
  });
});

describe('toCqString', () => {
  const cases: [string, unknown[], string][] = [
    ['text', [text('hello')], 'hello'],
    ['no segments', [], ''],
    ['& [ ] in text, not ,', [text('a&b [c] d,e')], 'a&amp;b &#91;c&#93; d,e'],
    ['an escape-looking text is escaped again', [text('&#91;&amp;')], '&amp;#91;&amp;amp;'],
    ['& [ ] , in a value', [seg('x', { v: 'a&b [c] d,e' })], '[CQ:x,v=a&amp;b &#91;c&#93; d&#44;e]'],
    ['a code without parameters', [seg('shake')], '[CQ:shake]'],
    ['data absent or null', [{ type: 'shake' }, { type: 'dice', data: null }], '[CQ:shake][CQ:dice]'],
    ['an empty value', [seg('at', { qq: '' })], '[CQ:at,qq=]'],
    ['parameters in their order', [seg('image', { url: 'u', file: 'f' })], '[CQ:image,url=u,file=f]'],
    ['numbers and booleans as JSON writes them', [seg('x', { n: 10001, f: 1.5, b: true })], '[CQ:x,n=10001,f=1.5,b=true]'],
    ['null and undefined values left out', [seg('x', { a: null, b: undefined, c: '1' })], '[CQ:x,c=1]'],
    ['an object value as its JSON, escaped', [seg('node', { content: [{ type: 'text' }] })], '[CQ:node,content=&#91;{"type":"text"}&#93;]'],
    ['unicode', [text('你好😀'), seg('at', { name: 'ü' })], '你好😀[CQ:at,name=ü]'],
    ['an unknown type', [seg('markdown', { content: '# hi' })], '[CQ:markdown,content=# hi]'],
    ['a text segment with more than text is a code', [seg('text', { text: 'a', style: 'b' })], '[CQ:text,text=a,style=b]'],
    ['a text segment whose text is not a string is a code', [seg('text', { text: 5 })], '[CQ:text,text=5]'],
  ];
  for (const [what, segments, expected] of cases) {
    it(what, () => assert.equal(toCqString(segments), expected));
  }

  const unwritable: [string, unknown[]][] = [
    ['a segment that is not an object', ['hello']],
    ['a segment without a type', [{ data: {} }]],
    ['data that is not an object', [{ type: 'x', data: 'y' }]],
    ['data that is an array', [{ type: 'x', data: [] }]],
    ['an empty type', [seg('')]],
    ['a type with a comma', [seg('a,b')]],
    ['a type with a space', [seg('a b')]],
    ['a key with =', [seg('x', { 'a=b': '1' })]],
    ['a key with ]', [seg('x', { 'a]': '1' })]],
    ['null among segments', [text('a'), null]],
  ];
  for (const [what, segments] of unwritable) {
    it(`cannot be written, so undefined: ${what}`, () => assert.equal(toCqString(segments), undefined));
  }
});

describe('toSegments and toCq', () => {
  it('take either shape, or a single segment', () => {
    assert.deepEqual(toSegments('a[CQ:face,id=1]'), [text('a'), seg('face', { id: '1' })]);
    const array = [text('a')];
    assert.equal(toSegments(array), array, 'an array is passed as it is');
    assert.deepEqual(toSegments(seg('face', { id: '1' })), [seg('face', { id: '1' })]);
    assert.equal(toCq('as it is'), 'as it is');
    assert.equal(toCq([text('[')]), '&#91;');
    assert.equal(toCq(seg('face', { id: '1' })), '[CQ:face,id=1]');
  });

  it('give undefined for what is no message', () => {
    for (const bad of [undefined, null, 5, true, { data: {} }]) {
      assert.equal(toSegments(bad), undefined);
      assert.equal(toCq(bad), undefined);
    }
  });
});

/** mulberry32: a small seeded generator, so that a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that stress the format: its delimiters, its escapes in pieces, unicode (astral too), blanks. */
const NASTY = [
  '&',
  '[',
  ']',
  ',',
  '=',
  ';',
  '#',
  'amp',
  '#91',
  '#93',
  '#44',
  '&amp;',
  '&#91;',
  '[CQ:',
  'CQ',
  ':',
  ' ',
  '\n',
  '你',
  '😀',
  'é',
  'a',
  'Z',
  '0',
  '9',
];
const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz_0123456789.-ABZ你';
const TYPES = ['text', 'at', 'face', 'image', 'reply', 'record', 'mface', 'markdown', 'onlinefile', 'json', 'node'];

function generator(next: () => number) {
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]) => items[int(items.length)]!;
  const str = (max: number) => Array.from({ length: int(max + 1) }, () => pick(NASTY)).join('');
  const name = () => Array.from({ length: 1 + int(8) }, () => pick([...NAME_CHARS])).join('');
  const segment = (): Segment => {
    const type = next() < 0.3 ? 'text' : next() < 0.7 ? pick(TYPES) : name();
    if (type === 'text' && next() < 0.9) return text(str(12));
    const keys = [...new Set(Array.from({ length: int(5) }, name))];
    return seg(type, Object.fromEntries(keys.map((k) => [k, str(10)])));
  };
  return { segments: () => Array.from({ length: int(7) }, segment), str };
}

/** A text segment that a CQ string writes as bare text. */
const isPlain = (s: Segment | undefined) => s?.type === 'text' && Object.keys(s.data).length === 1 && typeof s.data.text === 'string';

/** What a CQ string can say of segments: adjacent texts are one text, and empty texts are nothing. */
function normalized(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    if (isPlain(s) && s.data.text === '') continue;
    const last = out.at(-1);
    if (isPlain(s) && isPlain(last)) out[out.length - 1] = text(`${last!.data.text}${s.data.text}`);
    else out.push(s);
  }
  return out;
}

/** Segments written back with no escaping at all: for strings without `&`, exactly the input if nothing was lost. */
const unescaped = (segments: Segment[]) =>
  segments
    .map((s) =>
      isPlain(s)
        ? s.data.text
        : `[CQ:${s.type}${Object.entries(s.data)
            .map(([k, v]) => `,${k}=${v}`)
            .join('')}]`,
    )
    .join('');

describe('round trips', () => {
  const SEEDS = 40;
  const PER_SEED = 100;

  it('segments → CQ string → segments gives the same segments (adjacent texts joined)', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const gen = generator(random(seed));
      for (let n = 0; n < PER_SEED; n++) {
        const segments = gen.segments();
        const cq = toCqString(segments);
        assert.ok(cq !== undefined, `seed ${seed} case ${n}: writable`);
        assert.deepEqual(parseCq(cq), normalized(segments), `seed ${seed} case ${n}: ${JSON.stringify(segments)} → ${cq}`);
      }
    }
  });

  it('a CQ string the serializer wrote survives string → segments → string byte for byte', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const gen = generator(random(seed * 7919));
      for (let n = 0; n < PER_SEED; n++) {
        const cq = toCqString(gen.segments())!;
        assert.equal(toCqString(parseCq(cq)), cq, `seed ${seed} case ${n}: ${cq}`);
      }
    }
  });

  it('any string parses without loss: without &, writing the parts back unescaped gives the input', () => {
    const pieces = [...NASTY.filter((p) => !p.includes('&')), '[CQ:face,id=1]', '[CQ:at,qq=', ',x=', ']', '[CQ:a,b=1,b=2]'];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const next = random(seed * 104_729);
      for (let n = 0; n < PER_SEED; n++) {
        const input = Array.from({ length: Math.floor(next() * 20) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
        const parsed = parseCq(input);
        assert.equal(unescaped(parsed), input, `seed ${seed} case ${n}: ${JSON.stringify(input)}`);
        assert.deepEqual(parseCq(toCqString(parsed)!), normalized(parsed), `seed ${seed} case ${n}: stable`);
      }
    }
  });
});
