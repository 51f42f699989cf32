// What the unit tests of the pure modules share: a mocked clock, a logger that keeps what it is told, an event.
import type { TestContext } from 'node:test';
import { createLogger, type Level, type Logger } from '../../src/log.ts';

/** Date.now() when each test starts: far from 0, as a real clock is. */
export const START = 1_700_000_000_000;

/**
 * setTimeout, setInterval and Date move only on tick(), and go back to real ones after the test. Tick
 * exactly to a timer's due time when its callback reads the clock: Node 20 shows callbacks run by a tick
 * the time at the end of that tick.
 */
export function mockClock(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: START });
  return t.mock.timers;
}

export interface LogRecord {
  level: Level;
  msg: string;
}

/** A real logger (JSON lines, every level) whose lines are kept in `records`. */
export function recordingLogger(): { log: Logger; records: LogRecord[]; messages(level: Level): string[] } {
  const records: LogRecord[] = [];
  const log = createLogger(
    'debug',
    (line) => {
      const { level, msg } = JSON.parse(line) as LogRecord;
      records.push({ level, msg });
    },
    'json',
  );
  return { log, records, messages: (level) => records.filter((r) => r.level === level).map((r) => r.msg) };
}

/** A group message event as OneBot v11 describes it, with `fields` over it. */
export function groupEvent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: 1_700_000_000,
    self_id: 10001,
    post_type: 'message',
    message_type: 'group',
    sub_type: 'normal',
    message_id: 1,
    group_id: 30003,
    user_id: 20002,
    anonymous: null,
    message: [{ type: 'text', data: { text: 'hi' } }],
    raw_message: 'hi',
    font: 0,
    sender: { user_id: 20002, nickname: 'n', sex: 'male' },
    ...fields,
  };
}
