// The pieces of the settings schema that several settings share: errors that say what was expected, and the
// common value kinds (milliseconds, bytes, URLs).
import * as v from 'valibot';

type Issue = { received: string };

/** An issue message: what was expected, and what was given. */
export const expected = (what: string) => (issue: Issue) => `expected ${what}, got ${issue.received}`;

/** A strict object's message: a key it does not know gets `unknown`, anything else says it expected `what`. */
export const objectOf = (what: string, unknown: string) => (issue: Issue & { expected?: string | null }) =>
  issue.expected === 'never' ? unknown : expected(what)(issue);

/** Node's timers take at most this many ms; a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export const milliseconds = (min: number) =>
  v.pipe(
    v.number(expected('a number of milliseconds')),
    v.integer(expected('a whole number of milliseconds')),
    v.minValue(min, expected(`at least ${min} ms`)),
    v.maxValue(LONGEST_TIMER_MS, expected(`at most ${LONGEST_TIMER_MS} ms (about 24 days)`)),
  );

/** A whole number of `unit` of at least `min`; `atLeast` says why, when it is not below. */
export const count = (unit: string, min: number, atLeast = `at least ${min} ${unit}`) =>
  v.pipe(v.number(expected(`a number of ${unit}`)), v.integer(expected(`a whole number of ${unit}`)), v.minValue(min, expected(atLeast)));

export const bytes = (min: number) =>
  v.pipe(
    v.number(expected('a number of bytes')),
    v.integer(expected('a whole number of bytes')),
    v.minValue(min, expected(`at least ${min} bytes`)),
  );

export const Url = (schemes: string[], example: string) =>
  v.pipe(
    v.string(expected(`a URL such as "${example}"`)),
    v.check(
      (s) => URL.canParse(s) && schemes.includes(new URL(s).protocol),
      expected(`a ${schemes.map((p) => `${p}//`).join(' or ')} URL such as "${example}"`),
    ),
    // Not echoed: it holds a password. Tokens and secrets have settings of their own, never logged.
    v.check(
      (s) => !URL.canParse(s) || (!new URL(s).username && !new URL(s).password),
      'a URL without user:password@ (set the token or secret setting instead)',
    ),
  );
