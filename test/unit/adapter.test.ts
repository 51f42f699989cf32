// What every downstream endpoint shares: the client status record and its defaults, and which endpoints carry
// events (the HTTP API carries calls only). test/admin.test.ts shows the records on /status.json.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Adapter, carriesEvents, clientStatus } from '../../src/downstream/adapter.ts';
import { HttpApiAdapter } from '../../src/downstream/http-api.ts';
import { HttpPostAdapter } from '../../src/downstream/http-post.ts';
import { ReverseWsAdapter } from '../../src/downstream/reverse-ws.ts';
import { WsServerAdapter } from '../../src/downstream/ws-server.ts';
import { Hub } from '../../src/hub.ts';
import { recordingLogger } from './kit.ts';

describe('clientStatus', () => {
  it('is not connected, with nothing waiting, delivered, kept or failed, unless told', () => {
    assert.deepEqual(clientStatus({ label: 'client "bot" (away)', role: 'universal' }), {
      label: 'client "bot" (away)',
      role: 'universal',
      connected: false,
      queueBytes: 0,
      delivered: 0,
      buffered: 0,
      dropped: 0,
      failed: 0,
    });
  });

  it('keeps what it is told, and leaves out the optional fields given as undefined', () => {
    const status = clientStatus({
      label: 'x',
      role: 'post',
      connected: true,
      delivered: 3,
      failed: 1,
      name: undefined,
      lastError: undefined,
    });
    assert.deepEqual(Object.keys(status), ['label', 'role', 'connected', 'queueBytes', 'delivered', 'buffered', 'dropped', 'failed']);
    assert.deepEqual([status.connected, status.delivered, status.failed], [true, 3, 1]);
    const named = clientStatus({ label: 'x', role: 'api', name: 'bot', since: '2026-01-01T00:00:00.000Z', lastError: 'too slow' });
    assert.deepEqual([named.name, named.since, named.lastError], ['bot', '2026-01-01T00:00:00.000Z', 'too slow']);
  });
});

describe('carriesEvents', () => {
  it('is false for the HTTP API only', () => {
    const { log } = recordingLogger();
    const hub = new Hub(
      {
        callTimeout: 1000,
        hold: 1000,
        rateLimitInterval: 100,
        probeTimeout: 1000,
        healthProbe: 0,
        unhealthyAfter: 3,
        healthyWhen: 'all',
        sendLimit: { overflow: 'queue' },
        dedupeWindow: 0,
        groupDedupe: false,
        heartbeat: 1000,
      },
      log,
    );
    const listen = { host: '127.0.0.1', port: 0 };
    const buffer = { events: 10, bytes: 1000, age: 1000 };
    const reconnect = { base: 100, cap: 1000, stableAfter: 1000 };
    const session = { heartbeat: 1000, ping: { interval: 1000, timeout: 1000 }, queueLimit: 1000 };
    const adapters: [string, Adapter, boolean][] = [
      ['HTTP API', new HttpApiAdapter({ listen, token: '', allowOrigins: [], allowHosts: [], maxPayload: 1000 }, hub, log), false],
      ['WS server', new WsServerAdapter({ listen, token: '', allowOrigins: [], maxPayload: 1000, session, buffer }, hub, log), true],
      [
        'reverse WS',
        new ReverseWsAdapter(
          { url: 'ws://127.0.0.1:1/', token: '' },
          hub,
          { session, reconnect, handshakeTimeout: 1000, maxPayload: 1000, buffer },
          log,
        ),
        true,
      ],
      [
        'HTTP POST',
        new HttpPostAdapter({ url: 'http://127.0.0.1:1/', secret: '', timeout: 1000, heartbeat: 0 }, hub, { reconnect, buffer }, log),
        true,
      ],
    ];
    for (const [what, adapter, carries] of adapters) assert.equal(carriesEvents(adapter), carries, what);
  });
});
