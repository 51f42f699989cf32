// The running upstreams, and how a reload moves them to new pieces. An upstream rebuilt with new settings
// (or moved to a new address in the same place in the list) keeps its accounts, so clients stay connected.
import type { Piece } from './blueprint.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './log.ts';
import type { LinkHost, Upstream } from './upstream/upstream.ts';

/** `listens`: implementations dial it, any number (a reverse listener); otherwise it carries one account. */
export type UpstreamPiece = Piece<Upstream, [LinkHost]> & { listens: boolean };

interface Running {
  /** Which accounts are its own: kept across rebuilds. */
  origin: string;
  piece: UpstreamPiece;
  upstream: Upstream;
}

export class Upstreams {
  private running: Running[] = [];
  private origins = 0;

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  get list(): Upstream[] {
    return this.running.map((r) => r.upstream);
  }

  /** Start every piece; when one cannot, those started stop again and its error is thrown. */
  async start(pieces: UpstreamPiece[]): Promise<void> {
    for (const piece of pieces) {
      try {
        this.running.push(await this.launch(`upstream#${++this.origins}`, piece));
      } catch (err) {
        await this.stop();
        throw err;
      }
    }
  }

  /**
   * Move to `pieces`; returns what changed, for the log. Unchanged ones run on. A changed one (the same
   * address with new settings, or else the next removed one in order) is stopped and rebuilt with its
   * accounts, so their clients stay (unless a listener becomes a dialled link or back: those are other
   * accounts); when the new one cannot start, the previous one comes back. The rest of the removed ones
   * stop (their accounts' clients are told); the rest of the new ones start.
   */
  async apply(pieces: UpstreamPiece[]): Promise<string[]> {
    const byKey = new Map(this.running.map((r) => [r.piece.key, r]));
    const fresh = pieces.filter((p) => !byKey.has(p.key));
    const gone = this.running.filter((r) => !pieces.some((p) => p.key === r.piece.key));
    const rebuilds = new Map<UpstreamPiece, Running>();
    for (const piece of fresh) {
      const old = gone.find((g) => g.piece.label === piece.label);
      if (old) rebuilds.set(piece, gone.splice(gone.indexOf(old), 1)[0]!);
    }
    for (const piece of fresh) if (!rebuilds.has(piece) && gone.length) rebuilds.set(piece, gone.shift()!);

    const changes: string[] = [];
    for (const old of gone) {
      await old.upstream.stop('upstream removed from the settings');
      this.hub.forget(old.origin);
      changes.push(`removed ${old.piece.label}`);
    }
    const next: Running[] = [];
    for (const piece of pieces) {
      const same = byKey.get(piece.key);
      const old = rebuilds.get(piece);
      if (same) next.push(same);
      else if (old) next.push(await this.rebuild(old, piece, changes));
      else {
        const added = await this.add(piece, changes);
        if (added) next.push(added);
      }
    }
    this.running = next;
    return changes;
  }

  private async rebuild(old: Running, piece: UpstreamPiece, changes: string[]): Promise<Running> {
    await old.upstream.stop('upstream settings changed');
    // A listener's accounts are whichever dial it, a dialled link's the one it reaches: neither kind takes the other's.
    const sameKind = piece.listens === old.piece.listens;
    const origin = sameKind ? old.origin : `upstream#${++this.origins}`;
    try {
      const running = await this.launch(origin, piece);
      if (!sameKind) this.hub.forget(old.origin);
      changes.push(`upstream → ${piece.where}`);
      return running;
    } catch (err) {
      if (!sameKind) this.hub.forget(origin);
      this.log.error(`reload: the new upstream (${piece.where}) could not start: ${(err as Error).message}; back to the previous one`);
      return this.launch(old.origin, old.piece);
    }
  }

  private async add(piece: UpstreamPiece, changes: string[]): Promise<Running | undefined> {
    const origin = `upstream#${++this.origins}`;
    try {
      const running = await this.launch(origin, piece);
      changes.push(`added ${piece.label}`);
      return running;
    } catch (err) {
      this.hub.forget(origin);
      this.log.error(`reload: ${piece.label} could not start: ${(err as Error).message}`);
      return undefined;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.map((r) => r.upstream.stop()));
    this.running = [];
  }

  private async launch(origin: string, piece: UpstreamPiece): Promise<Running> {
    const upstream = piece.make(this.hub.host(origin, piece.listens));
    await upstream.start();
    return { origin, piece, upstream };
  }
}
