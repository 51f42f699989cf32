// batchWrites: a callback's first write to a socket goes out at once unless more of the read being handled waits; from
// the second on, they are held (corked) until the callback is done, or until FLUSH_BYTES wait.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { batchWrites, holdWrites, readingFrom } from '../../src/write-batch.ts';

/** A socket that counts how deep it is corked, as net.Socket does. */
function fakeClient() {
  const socket = {
    corks: 0,
    flushes: 0,
    writableLength: 0,
    cork: () => socket.corks++,
    uncork: () => {
      socket.corks--;
      socket.flushes++;
    },
  };
  return { socket, ws: { _socket: socket } as unknown as WebSocket };
}

describe('batchWrites', () => {
  it('lets the first write of a callback out at once and holds the rest until it is done', async () => {
    const a = fakeClient();
    const b = fakeClient();
    batchWrites(a.ws);
    batchWrites(b.ws);
    assert.equal(a.socket.corks, 0, 'a lone write is not held');
    batchWrites(a.ws);
    batchWrites(a.ws);
    assert.equal(a.socket.corks, 1, 'the second write and after are held');
    assert.equal(b.socket.corks, 0);
    await nextTurn();
    assert.equal(a.socket.corks, 0, 'released once the callback is done');
    batchWrites(a.ws);
    assert.equal(a.socket.corks, 0, 'the next callback starts afresh');
    await nextTurn();
  });

  it('holds even the first write while more of the read being handled waits, and not once the last message is handled', async () => {
    const source = { _receiver: { _bufferedBytes: 120 } } as unknown as WebSocket;
    const receiver = (source as unknown as { _receiver: { _bufferedBytes: number } })._receiver;
    const a = fakeClient();
    const b = fakeClient();
    readingFrom(source, () => batchWrites(a.ws));
    assert.equal(a.socket.corks, 1, 'another message of the read is still to come');
    receiver._bufferedBytes = 0;
    readingFrom(source, () => {
      batchWrites(a.ws);
      batchWrites(b.ws);
    });
    assert.equal(a.socket.corks, 1, 'still held with the first');
    assert.equal(b.socket.corks, 0, 'the last message: its first write to another socket goes at once');
    const c = fakeClient();
    batchWrites(c.ws);
    assert.equal(c.socket.corks, 0, 'outside a message (a timer), a first write is not held either');
    await nextTurn();
    assert.equal(a.socket.corks, 0, 'released once the callback is done');
  });

  it('writes out a batch that holds 64 KiB at once', async () => {
    const a = fakeClient();
    batchWrites(a.ws);
    batchWrites(a.ws);
    a.socket.writableLength = 64 * 1024;
    batchWrites(a.ws);
    assert.equal(a.socket.flushes, 1);
    assert.equal(a.socket.corks, 1, 'and goes on holding');
    await nextTurn();
    assert.equal(a.socket.corks, 0);
  });

  it('holdWrites holds every write while it runs, the first included, and what it batched until the callback is done', async () => {
    const a = fakeClient();
    holdWrites(a.ws, () => {
      batchWrites(a.ws);
      assert.equal(a.socket.corks, 1, 'the first write is held too');
      batchWrites(a.ws);
      assert.equal(a.socket.corks, 2);
    });
    assert.equal(a.socket.corks, 1, 'the batch still holds the second');
    await nextTurn();
    assert.equal(a.socket.corks, 0);
    const b = fakeClient();
    assert.throws(() =>
      holdWrites(b.ws, () => {
        throw new Error('boom');
      }),
    );
    assert.equal(b.socket.corks, 0, 'released even when it throws');
  });

  it('ignores a socket already gone', () => {
    assert.doesNotThrow(() => batchWrites({ _socket: null } as unknown as WebSocket));
  });
});
