// What the bench's source and its clients share: the events, a clock both processes read alike, and a pacer.

/** Now, ms, on the machine's monotonic clock (CLOCK_MONOTONIC): the same in every process, so the source stamps an event and a client in another process subtracts. */
export function clockMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A group message as implementations send it (~330 bytes with the default message), ending with the run's marker and the time it was sent. */
export function benchEvent(selfId: number, n: number, marker: string, sentAt: number, message?: string): string {
  const segments = message ?? `[{"type":"text","data":{"text":"event ${n} \\u4f60\\u597d 你好"}}]`;
  return `{"time":${Math.floor(Date.now() / 1000)},"self_id":${selfId},"post_type":"message","message_type":"group","sub_type":"normal","message_id":${n},"group_id":123456,"user_id":654321,"message":${segments},"raw_message":"event ${n}","font":0,"seq":${n},"sender":{"user_id":654321,"nickname":"tester"},"bench":"${marker}","bench_t":${sentAt.toFixed(4)}}`;
}

const STAMP = Buffer.from('"bench_t":');

/** The send time of a frame of the run `marker` (its bytes: `"bench":"<marker>"`), or undefined for any other frame; reads only its end. */
export function stampOf(data: Buffer, marker: Buffer): number | undefined {
  const tail = data.subarray(Math.max(0, data.length - 160));
  if (!tail.includes(marker)) return undefined;
  const at = tail.lastIndexOf(STAMP);
  return Number(tail.subarray(at + STAMP.length, tail.length - 1).toString());
}

/** The bytes a frame of the run `marker` carries, to look for. */
export function markerBytes(marker: string): Buffer {
  return Buffer.from(`"bench":"${marker}"`);
}

/**
 * Call `send(1)`, `send(2)`, ... `send(total)` at `rate` per second, paced by elapsed time (a 1 ms timer fires
 * every ~1 ms, so usually one call per tick); `stopped()` ends it early.
 */
export function pace(rate: number, total: number, send: (n: number) => void, stopped: () => boolean = () => false): Promise<void> {
  const start = performance.now();
  let sent = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due && !stopped()) send(++sent);
      if (sent >= total || stopped()) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
}
