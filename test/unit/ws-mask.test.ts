import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { mask, unmask } from '../../src/ws-mask.ts';

/** ws's own byte-by-byte loop: what the word-wise one must equal. */
function byByte(source: Buffer, maskBytes: Buffer): Buffer {
  return Buffer.from(source.map((byte, i) => byte ^ maskBytes[i & 3]!));
}

describe('ws-mask', () => {
  const key = Buffer.from([0x12, 0x34, 0xab, 0xcd]);

  it('unmasks in place like the byte loop, at every alignment and length', () => {
    const backing = randomBytes(200);
    for (let start = 0; start < 8; start++) {
      for (const length of [0, 1, 3, 4, 5, 31, 32, 33, 100, 191]) {
        const data = Buffer.from(backing).subarray(start, start + length);
        const expected = byByte(data, key);
        unmask(data, key);
        assert.deepEqual(data, expected, `start ${start}, length ${length}`);
      }
    }
  });

  it('masks into an output at an offset, leaving the source and the rest of the output alone', () => {
    const source = randomBytes(1000).subarray(3, 990);
    const before = Buffer.from(source);
    const output = Buffer.alloc(1010, 7);
    mask(source, key, output, 14, 900);
    assert.deepEqual(output.subarray(14, 914), byByte(source.subarray(0, 900), key));
    assert.ok(output.subarray(0, 14).every((b) => b === 7) && output.subarray(914).every((b) => b === 7));
    assert.deepEqual(source, before);
  });

  it('is its own inverse on a 4 MB frame', () => {
    const frame = randomBytes(4 * 1024 * 1024 + 3);
    const copy = Buffer.from(frame);
    unmask(frame, key);
    assert.notDeepEqual(frame, copy);
    unmask(frame, key);
    assert.deepEqual(frame, copy);
  });
});
