// GroupDedupe on its own, with a mocked clock: which account's copy of a group message or notice is delivered,
// how long other copies wait, and what happens when the primary goes away and comes back.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type GroupAccount, GroupDedupe, identityOf } from '../../src/group-dedupe.ts';
import type { SelfId } from '../../src/onebot.ts';
import { mockClock } from './kit.ts';

const A = 10001;
const B = 10002;
const C = 10003;

function message(selfId: SelfId, seq: number, group = 555, extra: Record<string, unknown> = {}) {
  return {
    time: 1_700_000_000,
    self_id: selfId,
    post_type: 'message',
    message_type: 'group',
    group_id: group,
    user_id: 42,
    message_id: Number(selfId) * 1000 + seq, // each implementation numbers messages its own way
    message_seq: seq,
    raw_message: `hello ${seq}`,
    ...extra,
  };
}

function setup(
  t: TestContext,
  accounts: [SelfId, boolean][] = [
    [A, true],
    [B, true],
    [C, true],
  ],
  grace = 1000,
) {
  const clock = mockClock(t);
  const out: string[] = [];
  const dedupe = new GroupDedupe((selfId, text) => out.push(`${selfId}:${(JSON.parse(text) as { message_seq?: number }).message_seq}`));
  const set = (list: [SelfId, boolean][]) =>
    dedupe.setAccounts(list.map(([selfId, available]): GroupAccount => ({ selfId, available, grace })));
  set(accounts);
  const report = (selfId: SelfId, seq: number, group?: number) => {
    const event = message(selfId, seq, group);
    dedupe.event(selfId, JSON.stringify(event), event);
  };
  return { clock, out, dedupe, set, report };
}

describe('GroupDedupe: one copy of each group message', () => {
  it('delivers each message once, as the first account in configuration order that is in the group', (t) => {
    const { out, dedupe, report } = setup(t);
    report(A, 1);
    report(B, 1);
    report(C, 1);
    report(B, 2); // B's copy first: it waits for A's
    report(A, 2);
    report(C, 2);
    assert.deepEqual(out, [`${A}:1`, `${A}:2`]);
    assert.equal(dedupe.dropped, 4);
    assert.deepEqual(dedupe.groups(), [{ group_id: 555, primary: A, accounts: [A, B, C] }]);
  });

  it('makes the first account its implementation lists in a group the primary before it reports anything there', (t) => {
    const { out, dedupe, report } = setup(t);
    dedupe.joined(A, [555, 556]);
    report(B, 1); // B first: it waits for A, listed in the group
    assert.deepEqual(out, []);
    report(A, 1);
    assert.deepEqual(out, [`${A}:1`]);
    assert.deepEqual(
      dedupe.groups().map((g) => [g.group_id, g.primary, g.accounts]),
      [
        [555, A, [A, B]],
        [556, A, [A]],
      ],
    );
  });

  it('leaves alone what is not a group message or notice, and other groups have their own primary', (t) => {
    const { out, dedupe, report } = setup(t);
    const privateMessage = { ...message(B, 9), message_type: 'private', group_id: undefined };
    dedupe.event(B, JSON.stringify(privateMessage), privateMessage);
    report(B, 1, 777); // only B is seen in 777
    report(C, 1, 777);
    assert.deepEqual(out, [`${B}:9`, `${B}:1`]);
    assert.deepEqual(
      dedupe.groups().map((g) => [g.group_id, g.primary]),
      [[777, B]],
    );
  });

  it('delivers another account’s copy after one grace period when the primary’s does not come', (t) => {
    const { clock, out, report } = setup(t);
    report(A, 1);
    report(B, 1);
    report(B, 2);
    report(C, 2);
    clock.tick(999);
    assert.deepEqual(out, [`${A}:1`]);
    clock.tick(1);
    assert.deepEqual(out, [`${A}:1`, `${B}:2`], 'B, the first after A');
    report(A, 2);
    assert.deepEqual(out, [`${A}:1`, `${B}:2`], 'A’s late copy is dropped');
  });
});

describe('GroupDedupe: failover', () => {
  it('hands the group to the next account at once when the primary goes away, with the copies held for it, in order', (t) => {
    const { out, set, report, dedupe } = setup(t);
    report(A, 1);
    report(B, 1);
    report(B, 2);
    report(B, 3);
    set([
      [A, false],
      [B, true],
      [C, true],
    ]);
    assert.deepEqual(out, [`${A}:1`, `${B}:2`, `${B}:3`]);
    report(B, 4);
    assert.deepEqual(out.at(-1), `${B}:4`, 'B answers now, without waiting');
    assert.equal(dedupe.groups()[0]!.primary, B);
    set([
      [A, true],
      [B, true],
      [C, true],
    ]);
    report(B, 5);
    report(A, 5);
    assert.deepEqual(out.slice(4), [`${A}:5`], 'A is back as the primary');
  });

  it('keeps the order when a copy waiting longer is overtaken by a release', (t) => {
    const { clock, out, set, report } = setup(t);
    report(A, 1);
    report(C, 1);
    report(C, 2); // C alone has 2 and 3 for now
    clock.tick(500);
    report(B, 3);
    report(C, 3);
    set([
      [A, false],
      [B, true],
      [C, true],
    ]);
    assert.deepEqual(out, [`${A}:1`, `${C}:2`, `${B}:3`], '2 before 3, from the best copy each has');
  });

  it('delivers as whichever account reports when none is known to answer', (t) => {
    const { out, report } = setup(t, [
      [A, false],
      [B, false],
    ]);
    report(B, 1);
    report(A, 1);
    assert.deepEqual(out, [`${B}:1`]);
  });

  it('delivers every copy it holds, in order, when flushed (turned off)', (t) => {
    const { clock, out, dedupe, report } = setup(t);
    report(A, 1);
    report(C, 2);
    report(B, 3);
    report(C, 3);
    dedupe.flush();
    assert.deepEqual(out, [`${A}:1`, `${C}:2`, `${B}:3`]);
    clock.tick(5000);
    assert.equal(out.length, 3, 'their timers are gone');
  });

  it('delivers nothing it holds once closed', (t) => {
    const { clock, out, dedupe, report } = setup(t);
    report(A, 1);
    report(B, 2);
    dedupe.close();
    clock.tick(5000);
    assert.deepEqual(out, [`${A}:1`]);
  });
});

describe('identityOf', () => {
  it('is the group and message_seq, or the sender, time and content without a seq', () => {
    assert.equal(identityOf(message(A, 7)), identityOf(message(B, 7)));
    assert.notEqual(identityOf(message(A, 7)), identityOf(message(A, 8)));
    const noSeq = (selfId: SelfId, text: string) => ({ ...message(selfId, 0), message_seq: undefined, raw_message: text });
    assert.equal(identityOf(noSeq(A, 'hi')), identityOf(noSeq(B, 'hi')));
    assert.notEqual(identityOf(noSeq(A, 'hi')), identityOf(noSeq(A, 'ho')));
  });

  it('is all a group notice says but the account’s own ids, and nothing for other events', () => {
    const recall = (selfId: SelfId, messageId: number) => ({
      post_type: 'notice',
      notice_type: 'group_recall',
      time: 5,
      self_id: selfId,
      group_id: 555,
      user_id: 42,
      operator_id: 42,
      message_id: messageId,
    });
    assert.equal(identityOf(recall(A, 1)), identityOf(recall(B, 2)));
    assert.notEqual(identityOf(recall(A, 1)), identityOf({ ...recall(B, 2), operator_id: 43 }));
    assert.equal(identityOf({ post_type: 'notice', notice_type: 'friend_add', user_id: 1 }), undefined);
    assert.equal(identityOf({ post_type: 'request', request_type: 'group', group_id: 555, flag: 'x' }), undefined);
  });
});
