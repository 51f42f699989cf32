// The conditions of one account, each through its episodes: one set of episodes for each grace period that a
// channel listens with (alertGrace, and a channel's own "grace").
import { CONDITION_NAMES, type Condition, type EpisodeReport, type Subject } from './alert.ts';
import { Episode } from './episode.ts';

/** What an account looks like now, for its alerts. */
export interface Watched {
  subject: Subject;
  /** Why its link is down (who closed it, the code and reason); undefined while it is up. */
  linkDown?: string;
  /** The rest is known only while the link is up. */
  qqOffline?: string;
  degraded?: string;
  riskControl?: string;
}

export type EpisodeChange = (grace: number, condition: Condition, phase: 'start' | 'end', report: EpisodeReport) => void;

export class AccountWatch {
  private readonly groups = new Map<number, Map<Condition, Episode>>();

  constructor(
    /** The account as last observed. */
    private last: Watched,
    graces: Iterable<number>,
    private readonly changed: EpisodeChange,
  ) {
    this.setGraces(graces);
  }

  get subject(): Subject {
    return this.last.subject;
  }

  /** Listen with these grace periods from now on (a reload). */
  setGraces(graces: Iterable<number>): void {
    const wanted = new Set(graces);
    for (const [grace, episodes] of this.groups) {
      if (wanted.has(grace)) continue;
      for (const episode of episodes.values()) episode.close();
      this.groups.delete(grace);
    }
    for (const grace of wanted) {
      if (this.groups.has(grace)) continue;
      const episodes = new Map(
        CONDITION_NAMES.map((condition) => [
          condition,
          new Episode(grace, {
            began: (report) => this.changed(grace, condition, 'start', report),
            ended: (report) => this.changed(grace, condition, 'end', report),
          }),
        ]),
      );
      this.groups.set(grace, episodes);
      this.apply(episodes, this.last);
    }
  }

  observe(watched: Watched): void {
    this.last = watched;
    for (const episodes of this.groups.values()) this.apply(episodes, watched);
  }

  episode(grace: number, condition: Condition): Episode | undefined {
    return this.groups.get(grace)?.get(condition);
  }

  close(): void {
    for (const episodes of this.groups.values()) for (const episode of episodes.values()) episode.close();
    this.groups.clear();
  }

  private apply(episodes: Map<Condition, Episode>, watched: Watched): void {
    episodes.get('link')!.set(watched.linkDown !== undefined, watched.linkDown);
    // While the link is down nothing is known of the rest: their episodes wait as they are.
    if (watched.linkDown !== undefined) return;
    episodes.get('qq')!.set(watched.qqOffline !== undefined, watched.qqOffline);
    episodes.get('degraded')!.set(watched.degraded !== undefined, watched.degraded);
    episodes.get('risk_control')!.set(watched.riskControl !== undefined, watched.riskControl);
  }
}
