// The HTTP API server: the spec's paths, methods, bodies and status codes, over the same call routing as WS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpApiAdapter } from '../src/downstream/http-api.ts';
import { RelayRetcode } from '../src/onebot.ts';
import { FakeImplementation } from './fake-impl.ts';
import { startTestRelay, type TestRelay, waitFor } from './helpers.ts';

describe('HTTP API server (--http)', { timeout: 20_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay;
  let base: string;
  const auth = { Authorization: 'Bearer tok' };
  const json = { ...auth, 'Content-Type': 'application/json' };

  before(async () => {
    fake = await FakeImplementation.start();
    relay = await startTestRelay(fake.url, { http: ['127.0.0.1:0'], token: 'tok', callTimeout: 500, hold: 300 });
    base = `http://${relay.relay.adapters.find((a) => a instanceof HttpApiAdapter)!.listener.url}`;
    await waitFor(() => relay.relay.hub.health().status === 'up', 'the link');
  });
  after(async () => {
    await relay.stop();
    await fake.stop();
  });

  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : { text }) as Record<string, any> };
  };

  it('answers 401 without a token and 403 with a wrong one; takes Token and ?access_token=', async () => {
    assert.equal((await call('/get_status')).status, 401);
    assert.equal((await call('/get_status', { headers: { Authorization: 'Bearer no' } })).status, 403);
    assert.equal((await call('/get_status', { headers: { Authorization: 'Token tok' } })).status, 200);
    assert.equal((await call('/get_status?access_token=tok')).status, 200);
  });

  it("takes POST /:action with JSON, with or without a trailing slash, and returns the implementation's reply", async () => {
    for (const path of ['/echo_params', '/echo_params/']) {
      const { status, body } = await call(path, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ group_id: 12, message: '你好', flag: true }),
      });
      assert.equal(status, 200);
      assert.equal(body.status, 'ok');
      assert.deepEqual(body.data, { group_id: 12, message: '你好', flag: true });
      assert.ok(!('echo' in body), 'the relay echo never leaks out');
    }
  });

  it('coerces ids and flags from a query or a form, and leaves text alone', async () => {
    const viaGet = await call('/echo_params?group_id=12&message=123&auto_escape=true&access_token=tok');
    assert.deepEqual(viaGet.body.data, { group_id: 12, message: '123', auto_escape: true });
    const viaForm = await call('/echo_params', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'user_id=34&message=true&no_cache=0',
    });
    assert.deepEqual(viaForm.body.data, { user_id: 34, message: 'true', no_cache: false });
  });

  it('takes POST / with {action, params}', async () => {
    const { status, body } = await call('/', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ action: 'send_group_msg', params: { group_id: 1, message: 'x' } }),
    });
    assert.equal(status, 200);
    assert.equal(typeof body.data.message_id, 'number');
    assert.equal((await call('/', { method: 'POST', headers: json, body: '{"params":{}}' })).status, 400);
  });

  it('answers 406 for an unsupported Content-Type and 400 for a body it cannot parse', async () => {
    assert.equal(
      (await call('/get_status', { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: 'hi' })).status,
      406,
    );
    assert.equal((await call('/get_status', { method: 'POST', headers: json, body: '{nope' })).status, 400);
    assert.equal((await call('/get_status', { method: 'POST', headers: json, body: '[1,2]' })).status, 400);
    assert.ok(!fake.calls.some((c) => c.params.hi !== undefined));
  });

  it("maps an unknown action to HTTP 404 with the implementation's JSON", async () => {
    const { status, body } = await call('/no_such_action', { method: 'POST', headers: json, body: '{}' });
    assert.equal(status, 404);
    assert.equal(body.retcode, 1404);
  });

  it('answers 200 with retcode 1504 when the implementation never answers, and 1502 while it is down', async () => {
    fake.unanswered.add('get_group_list');
    const slow = await call('/get_group_list', { headers: auth });
    assert.equal(slow.status, 200);
    assert.equal(slow.body.retcode, RelayRetcode.timeout);
    await fake.kill();
    await waitFor(() => relay.relay.hub.health().status === 'down', 'the drop');
    const down = await call('/get_status', { headers: auth });
    assert.equal(down.body.retcode, RelayRetcode.notConnected);
    await fake.restart();
    await waitFor(() => relay.relay.hub.health().status === 'up', 'the link back');
  });
});
