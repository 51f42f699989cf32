// Episode on its own, on a mocked clock: the grace period both ways, one alert per episode, flapping, and what
// the status page reads of it. test/unit/alerter.test.ts shows episodes per account and channel.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { EpisodeReport } from '../../src/alerts/alert.ts';
import { Episode, FLAPS } from '../../src/alerts/episode.ts';
import { mockClock, START } from './kit.ts';

const GRACE = 30_000;

function setup(t: TestContext) {
  const clock = mockClock(t);
  const said: [string, EpisodeReport & { at: number }][] = [];
  const episode = new Episode(GRACE, {
    began: (report) => said.push(['began', { ...report, at: Date.now() - START }]),
    ended: (report) => said.push(['ended', { ...report, at: Date.now() - START }]),
  });
  /** ms after the start, relative times of a report. */
  const rel = ([what, r]: [string, EpisodeReport & { at: number }]) => [
    what,
    r.at,
    r.since - START,
    r.until === undefined ? undefined : r.until - START,
    r.flaps,
    r.detail,
  ];
  return { clock, episode, said, rel };
}

describe('Episode', () => {
  it('says nothing of a condition shorter than the grace period', (t) => {
    const { clock, episode, said } = setup(t);
    episode.set(true, 'closed by the implementation with code 1001');
    clock.tick(GRACE - 1);
    episode.set(false);
    clock.tick(10 * GRACE);
    assert.deepEqual(said, []);
    assert.equal(episode.current(), undefined);
  });

  it('begins once the condition has lasted the grace period, and ends once it has stayed clear as long, with its duration', (t) => {
    const { clock, episode, said, rel } = setup(t);
    clock.tick(1000);
    episode.set(true, 'first reason');
    clock.tick(10_000);
    episode.set(true, 'latest reason');
    assert.deepEqual(episode.current(), { since: START + 1000, flaps: 1, detail: 'latest reason', alerted: false });
    clock.tick(GRACE - 10_000);
    assert.deepEqual(said.map(rel), [['began', 1000 + GRACE, 1000, undefined, 1, 'latest reason']]);
    assert.equal(episode.current()!.alerted, true);
    clock.tick(60_000);
    episode.set(false);
    clock.tick(GRACE - 1);
    assert.equal(said.length, 1, 'still within the grace period of its recovery');
    clock.tick(1);
    const end = 1000 + GRACE + 60_000;
    assert.deepEqual(said.map(rel).at(-1), ['ended', end + GRACE, 1000, end, 1, 'latest reason']);
    assert.equal(episode.current(), undefined);
  });

  it('counts a relapse within the grace period of its recovery as the same episode: one begin, one end', (t) => {
    const { clock, episode, said, rel } = setup(t);
    episode.set(true, 'down');
    clock.tick(GRACE);
    episode.set(false);
    clock.tick(5000);
    episode.set(true, 'down again');
    clock.tick(5000);
    episode.set(false);
    clock.tick(GRACE);
    assert.deepEqual(said.map(rel), [
      ['began', GRACE, 0, undefined, 1, 'down'],
      ['ended', 2 * GRACE + 10_000, 0, GRACE + 10_000, 2, 'down again'],
    ]);
  });

  it(`alerts once as flapping when it begins ${FLAPS} times, each shorter than the grace period and close together`, (t) => {
    const { clock, episode, said, rel } = setup(t);
    for (let flap = 1; flap <= 5; flap++) {
      episode.set(true, `drop ${flap}`);
      clock.tick(2000);
      episode.set(false);
      clock.tick(3000);
    }
    assert.deepEqual(said.map(rel), [['began', 10_000, 0, undefined, FLAPS, 'drop 3']]);
    clock.tick(GRACE - 3000); // to 30 s after the last drop cleared
    assert.deepEqual(said.map(rel).at(-1), ['ended', 22_000 + GRACE, 0, 22_000, 5, 'drop 5'], 'one recovery, counting every flap');
  });

  it('treats blips further apart than the grace period as separate episodes, none alerting', (t) => {
    const { clock, episode, said } = setup(t);
    for (let blip = 0; blip < 5; blip++) {
      episode.set(true, 'blip');
      clock.tick(1000);
      episode.set(false);
      clock.tick(GRACE);
    }
    assert.deepEqual(said, []);
  });

  it('forgets everything when closed', (t) => {
    const { clock, episode, said } = setup(t);
    episode.set(true, 'x');
    episode.close();
    clock.tick(2 * GRACE);
    assert.deepEqual(said, []);
  });
});
