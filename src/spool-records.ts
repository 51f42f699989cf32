// The records of a spool segment (docs/spool.md): each one framed by its length and a CRC-32, so that a record
// cut short by a crash, or damaged, is recognised and everything from it on is cut off rather than misread.
import { crc32 } from 'node:zlib';

/** The first bytes of every segment file: what it is, and the format's version. */
export const SEGMENT_MAGIC = Buffer.from('OBRSPL1\n');

/** Length (u32 LE) and CRC-32 of the payload (u32 LE). */
const FRAME_BYTES = 8;
/** Kind (u8) and sequence number (f64 LE). */
const HEAD_BYTES = 9;
/** A length over this is damage, not an event (--max-payload is far smaller). */
const MAX_RECORD_BYTES = 1 << 30;

/** An event kept for the target: its sequence number, when it was first kept (ms), and its text. */
export interface EventRecord {
  kind: 'event';
  seq: number;
  at: number;
  text: string;
}

/** Every event up to `seq` is done with (delivered or dropped): never replay it. */
export interface AckRecord {
  kind: 'ack';
  seq: number;
}

export type SpoolRecord = EventRecord | AckRecord;

const KIND = { event: 1, ack: 2 } as const;

export function encodeRecord(record: SpoolRecord): Buffer {
  const text = record.kind === 'event' ? Buffer.from(record.text) : undefined;
  const payloadBytes = HEAD_BYTES + (text ? 8 + text.length : 0);
  const buf = Buffer.allocUnsafe(FRAME_BYTES + payloadBytes);
  buf.writeUInt32LE(payloadBytes, 0);
  buf.writeUInt8(KIND[record.kind], FRAME_BYTES);
  buf.writeDoubleLE(record.seq, FRAME_BYTES + 1);
  if (record.kind === 'event') {
    buf.writeDoubleLE(record.at, FRAME_BYTES + HEAD_BYTES);
    text!.copy(buf, FRAME_BYTES + HEAD_BYTES + 8);
  }
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_BYTES)), 4);
  return buf;
}

export interface DecodedSegment {
  records: SpoolRecord[];
  /** Bytes of whole, intact records from the start of the file (the magic included): the rest is cut off. */
  goodBytes: number;
  /** Why the rest was cut off, when there is a rest. */
  damage?: string;
}

/** Read a segment's records up to the first one that is torn or damaged. */
export function decodeSegment(file: Buffer): DecodedSegment {
  if (file.length < SEGMENT_MAGIC.length || !file.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
    return { records: [], goodBytes: 0, damage: file.length ? 'not a spool segment (wrong header)' : undefined };
  }
  const records: SpoolRecord[] = [];
  let at = SEGMENT_MAGIC.length;
  while (at < file.length) {
    const damage = recordDamage(file, at);
    if (damage) return { records, goodBytes: at, damage: `${damage} at byte ${at}` };
    const length = file.readUInt32LE(at);
    records.push(decodePayload(file.subarray(at + FRAME_BYTES, at + FRAME_BYTES + length)));
    at += FRAME_BYTES + length;
  }
  return { records, goodBytes: at };
}

/** What is wrong with the record at `at`, if anything. */
function recordDamage(file: Buffer, at: number): string | undefined {
  if (file.length - at < FRAME_BYTES) return 'a torn record header';
  const length = file.readUInt32LE(at);
  if (length < HEAD_BYTES || length > MAX_RECORD_BYTES) return `an impossible record length (${length})`;
  if (file.length - at - FRAME_BYTES < length) return 'a torn record';
  const payload = file.subarray(at + FRAME_BYTES, at + FRAME_BYTES + length);
  if (crc32(payload) !== file.readUInt32LE(at + 4)) return 'a record whose checksum does not match';
  const kind = payload.readUInt8(0);
  if (kind === KIND.ack ? length !== HEAD_BYTES : kind !== KIND.event || length < HEAD_BYTES + 8) return 'a record of unknown kind';
  return undefined;
}

function decodePayload(payload: Buffer): SpoolRecord {
  const seq = payload.readDoubleLE(1);
  if (payload.readUInt8(0) === KIND.ack) return { kind: 'ack', seq };
  return { kind: 'event', seq, at: payload.readDoubleLE(HEAD_BYTES), text: payload.subarray(HEAD_BYTES + 8).toString() };
}
