// What the settings build, without opening anything: each piece's key is the options it is made from, so that
// a reload sees every change; links on this machine are retried within a second, others back off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blueprint } from '../../src/blueprint.ts';
import { validateConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';

const log = createLogger('error', () => {});
const built = (settings: Record<string, unknown>) => blueprint(validateConfig(settings), log);
/** The reconnect policy a piece was built with, read back from its key. */
const reconnectOf = (key: string) => JSON.stringify(JSON.parse(key)).match(/"reconnect":(\{[^}]*\})/)?.[1];

describe('blueprint', () => {
  it('retries links on this machine every 250 to 500 ms, however long the outage, and backs off elsewhere', () => {
    const { upstreams, endpoints } = built({
      upstreams: ['ws://127.0.0.1:3001', 'ws://[::1]:3002', 'ws://localhost:3003', 'ws://192.0.2.7:3001'],
      reverse: ['ws://127.0.0.1:8080/onebot/v11/ws', 'ws://bots.example:8080/ws/'],
      post: ['http://127.0.0.1:8080/onebot/v11/http'],
    });
    const loopback = JSON.stringify({ base: 500, cap: 500, floor: 250, stableAfter: 60_000 });
    const remote = JSON.stringify({ base: 1000, cap: 30_000, stableAfter: 60_000 });
    assert.deepEqual(
      upstreams.map((p) => reconnectOf(p.key)),
      [loopback, loopback, loopback, remote],
    );
    assert.deepEqual(
      endpoints.filter((p) => /reverse|POST/.test(p.label)).map((p) => reconnectOf(p.key)),
      [loopback, remote, loopback],
    );
  });

  it('keys a piece by every option it is made from, and two identical ones apart', () => {
    const a = built({ upstreams: [{ url: 'http://127.0.0.1:3000', postListen: '127.0.0.1:6713' }], callTimeout: 1000 });
    const b = built({ upstreams: [{ url: 'http://127.0.0.1:3000', postListen: '127.0.0.1:6713' }], callTimeout: 2000 });
    assert.notEqual(a.upstreams[0]!.key, b.upstreams[0]!.key, 'the HTTP upstream takes callTimeout');
    assert.equal(a.upstreams[0]!.label, b.upstreams[0]!.label);
    const twice = built({ ws: ['127.0.0.1:0', '127.0.0.1:0'] }).endpoints.map((p) => p.key);
    assert.equal(new Set(twice).size, 2);
  });
});
