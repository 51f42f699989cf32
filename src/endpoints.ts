// The running downstream endpoints, and how a reload moves them to new pieces: new ones open first, then
// the hub switches over, then the old ones close. Kept events pass from an endpoint to its restarted self.
import type { EndpointPiece } from './blueprint.ts';
import { type Adapter, carriesEvents, type KeptEvents } from './downstream/adapter.ts';
import { reportUndelivered } from './event-buffer.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './log.ts';

interface Running {
  piece: EndpointPiece;
  adapter: Adapter;
}

/** Some pieces could not open: which, and why. */
interface OpenFailure {
  piece: EndpointPiece;
  error: Error;
}

export class Endpoints {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  get adapters(): Adapter[] {
    return [...this.running.values()].map((r) => r.adapter);
  }

  /** Open every piece at start; when one cannot, none stays open and its error is thrown. */
  async start(pieces: EndpointPiece[]): Promise<void> {
    const opened = await openAll(pieces, this.hub);
    if (!Array.isArray(opened)) throw opened.error;
    for (const r of opened) this.join(r);
  }

  /**
   * Move to `pieces`; returns what changed, for the log. New endpoints open first. When one cannot (a port
   * in use), the removed ones close and it is tried again, for the port may be one of theirs (127.0.0.1:P
   * moving to 0.0.0.0:P); when it still cannot, the removed ones come back as they were and nothing
   * changes. Then changed ones restart (same label, new key) and removed ones close. Endpoints whose only
   * change is their delivery profiles take them as they run (first of all).
   */
  async apply(pieces: EndpointPiece[]): Promise<string[]> {
    const next = new Map(pieces.map((p) => [p.key, p]));
    const gone = [...this.running.values()].filter((r) => !next.has(r.piece.key));
    const fresh = pieces.filter((p) => !this.running.has(p.key));
    const restarts: { old: Running; piece: EndpointPiece }[] = [];
    for (const old of gone) {
      const i = fresh.findIndex((p) => p.label === old.piece.label);
      if (i >= 0) restarts.push({ old, piece: fresh.splice(i, 1)[0]! });
    }
    const removed = gone.filter((g) => !restarts.some((r) => r.old === g));
    const reprofiled = this.reprofile(pieces);

    let added = await openAll(fresh, this.hub);
    let retired: { old: Running; kept: KeptEvents }[] | undefined;
    if (!Array.isArray(added)) {
      retired = removed.map((old) => ({ old, kept: this.retire(old) }));
      await Promise.all(removed.map((old) => old.adapter.close()));
      added = await openAll(fresh, this.hub);
      if (!Array.isArray(added)) {
        const why = `${added.piece.label} could not start (${added.error.message})`;
        this.log.error(`reload: ${why}; no endpoint is added, removed or restarted`);
        for (const { old, kept } of retired) await this.bringBack(old.piece, kept);
        return [...reprofiled, `endpoints unchanged (${why})`];
      }
    }
    const changes = [
      ...reprofiled,
      ...added.map((r) => {
        this.join(r);
        return `added ${r.piece.label}`;
      }),
    ];
    if (retired) {
      // Closed above with their kept events taken out: count those here, as close() would have.
      const lost = retired.flatMap(({ kept }) => [...kept.values()]).reduce((n, events) => n + events.length, 0);
      reportUndelivered(this.log, 'the endpoints this reload removed', lost);
    } else {
      for (const old of removed) {
        this.leave(old);
        await old.adapter.close(); // it says how many kept events it had
      }
    }
    changes.push(...removed.map((old) => `removed ${old.piece.label}`));
    for (const { old, piece } of restarts) changes.push(await this.restart(old, piece));
    return changes;
  }

  /** Endpoints that keep running take their new delivery profiles: their clients stay connected. */
  private reprofile(pieces: EndpointPiece[]): string[] {
    return pieces.flatMap((piece) => {
      const running = this.running.get(piece.key);
      if (!running || running.piece.profiles.key === piece.profiles.key) return [];
      running.adapter.useProfiles(piece.profiles);
      running.piece = piece;
      return [`new delivery profiles for ${piece.label}`];
    });
  }

  private join(r: Running): void {
    this.running.set(r.piece.key, r);
    this.hub.add(r.adapter);
  }

  private leave(r: Running): void {
    this.running.delete(r.piece.key);
    this.hub.remove(r.adapter);
  }

  /** Stop giving it events; what it kept for away targets, in case it comes back. */
  private retire(r: Running): KeptEvents {
    this.leave(r);
    return carriesEvents(r.adapter) ? r.adapter.handOver() : new Map();
  }

  /** An endpoint as it was before a reload that could not apply, with what it kept. */
  private async bringBack(piece: EndpointPiece, kept: KeptEvents): Promise<void> {
    const adapter = piece.make(this.hub);
    if (carriesEvents(adapter)) adapter.adopt(kept);
    this.join({ piece, adapter });
    await adapter.open();
  }

  /**
   * An endpoint with new settings takes over what the old one kept, and the events from now on, before the
   * old one says disable and closes: nothing kept is lost. When it cannot open, the old settings come back.
   */
  private async restart(old: Running, piece: EndpointPiece): Promise<string> {
    const adapter = piece.make(this.hub);
    const kept = this.retire(old);
    if (carriesEvents(adapter)) adapter.adopt(kept);
    const fresh = { piece, adapter };
    this.join(fresh);
    await old.adapter.close();
    try {
      await adapter.open();
      return `restarted ${piece.label}`;
    } catch (err) {
      this.log.error(
        `reload: ${piece.label} could not start with its new settings (${(err as Error).message}); it runs on with the previous ones`,
      );
      await this.bringBack(old.piece, this.retire(fresh));
      return `kept ${piece.label} as it was`;
    }
  }
}

/** Open each (not yet in the hub); when one cannot, close those opened and say which could not and why. */
async function openAll(pieces: EndpointPiece[], hub: Hub): Promise<Running[] | OpenFailure> {
  const opened: Running[] = [];
  for (const piece of pieces) {
    const adapter = piece.make(hub);
    try {
      await adapter.open();
    } catch (err) {
      await Promise.all(opened.map((o) => o.adapter.close()));
      return { piece, error: err as Error };
    }
    opened.push({ piece, adapter });
  }
  return opened;
}
