// Client authentication on the WS server: 401 without a token, 403 with a wrong one, before the upgrade.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { sameToken, tokenOf } from '../src/auth.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, TestClient, type TestRelay } from './helpers.ts';

/** How the server answered a WebSocket handshake: 101 when it upgraded, else the status and body of its refusal. */
function handshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.on('open', () => {
      resolve({ status: 101, body: '' });
      ws.terminate();
    });
    ws.on('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

async function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return (await handshake(url, headers)).status;
}

describe('client auth', { timeout: 15_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;

  before(async () => {
    fake = await FakeImplementation.start();
    relay = await startTestRelay(fake.url, { token: 's3cret' });
  });
  after(async () => {
    await relay.stop();
    await fake.stop();
  });

  it('answers 401 without a token and 403 with a wrong one, on every path', async () => {
    for (const path of ['/', '/api', '/event/']) {
      assert.equal(await handshakeStatus(relay.wsUrl + path), 401, `${path} without a token`);
      assert.equal(await handshakeStatus(relay.wsUrl + path, { Authorization: 'Bearer nope' }), 403, `${path} wrong Bearer`);
      assert.equal(await handshakeStatus(`${relay.wsUrl}${path}?access_token=nope`), 403, `${path} wrong query token`);
    }
    assert.equal(await handshakeStatus(relay.wsUrl, { Authorization: 's3cre' }), 403, 'a prefix of the token');
  });

  it('says why in the body of a refused handshake', async () => {
    assert.deepEqual(await handshake(relay.wsUrl), { status: 401, body: 'missing access token' });
    assert.deepEqual(await handshake(relay.wsUrl, { Authorization: 'Bearer nope' }), { status: 403, body: 'wrong access token' });
  });

  it('accepts the token as Bearer, as Token, or as ?access_token=', async () => {
    assert.equal(await handshakeStatus(relay.wsUrl, { Authorization: 'Bearer s3cret' }), 101);
    assert.equal(await handshakeStatus(relay.wsUrl, { Authorization: 'Token s3cret' }), 101);
    assert.equal(await handshakeStatus(`${relay.wsUrl}/api?access_token=s3cret`), 101);
    const client = await TestClient.connect(relay.wsUrl, { Authorization: 'Bearer s3cret' });
    const reply = await client.call('get_status', {}, 1);
    assert.equal(reply.status, 'ok');
    client.close();
  });

  it('never logs the token', () => {
    assert.ok(!relay.logs.some((l) => l.includes('s3cret')));
  });

  it('reads tokens from headers and queries as documented', () => {
    assert.equal(tokenOf('Bearer abc', undefined), 'abc');
    assert.equal(tokenOf('token abc', 'q'), 'abc', 'the header wins and the scheme is case-insensitive');
    assert.equal(tokenOf(undefined, 'q'), 'q');
    assert.equal(tokenOf(undefined, undefined), undefined);
    assert.ok(sameToken('abc', 'abc'));
    assert.ok(!sameToken('abc', 'abcd'));
  });
});
