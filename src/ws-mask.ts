// WebSocket masking four bytes at a time, in place of the native `bufferutil` that ws looks for: the executable can
// carry no native module, and ws's own fallback goes byte by byte (8 ms for a 4 MB frame, where this takes 1 ms).
// build.mjs points ws's require('bufferutil') here; run from source, ws uses its own loop.

/** XOR `data` in place with the 4-byte `mask`, repeated. */
function xor(data: Buffer, mask: Buffer): void {
  const at = (i: number) => mask[i & 3]!;
  // Whole 32-bit words from the first aligned byte on; the bytes before and after one by one.
  const head = Math.min(data.length, (4 - (data.byteOffset & 3)) & 3);
  for (let i = 0; i < head; i++) data[i]! ^= at(i);
  const words = (data.length - head) >>> 2;
  if (words > 0) {
    const word = (at(head) | (at(head + 1) << 8) | (at(head + 2) << 16) | (at(head + 3) << 24)) >>> 0;
    const view = new Uint32Array(data.buffer, data.byteOffset + head, words);
    // Little-endian machines (x64, arm64): byte j of a word is its bits 8j..8j+7.
    for (let i = 0; i < words; i++) view[i]! ^= word;
  }
  for (let i = head + words * 4; i < data.length; i++) data[i]! ^= at(i);
}

/** bufferutil's mask: output[offset + i] = source[i] ^ mask[i & 3], for i < length. */
export function mask(source: Buffer, maskBytes: Buffer, output: Buffer, offset: number, length: number): void {
  output.set(source.subarray(0, length), offset);
  xor(output.subarray(offset, offset + length), maskBytes);
}

/** bufferutil's unmask: buffer[i] ^= mask[i & 3], in place. */
export function unmask(buffer: Buffer, maskBytes: Buffer): void {
  xor(buffer, maskBytes);
}
