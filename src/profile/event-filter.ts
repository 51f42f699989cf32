// go-cqhttp's event filter (docs/EventFilter.md there; LLBot reads the same syntax), so that existing filter
// files paste in unchanged. An object passes when all its entries do; a key starting with "." is an operator
// on the value at hand, any other key a dotted path into it, compared by equality unless its value is an
// object (then that object applies to the value at the path). Values compare as go-cqhttp's JSON library
// prints them: 10001 equals "10001", and null or a missing key equal "".

import { isJsonObject } from '../onebot.ts';

export type EventFilter = (event: unknown) => boolean;

/** A filter that cannot be built: the message says where in it and what was expected there. */
export class FilterError extends Error {}

const OPERATORS = ['.not', '.and', '.or', '.eq', '.neq', '.in', '.contains', '.regex'] as const;

/** Build the filter `spec` describes; throws FilterError naming the place of the first mistake. */
export function compileFilter(spec: unknown): EventFilter {
  return all(spec, []);
}

type Place = (string | number)[];

function fail(place: Place, what: string): never {
  const where = place.length ? place.map((p) => `[${JSON.stringify(p)}]`).join('') : '(the whole filter)';
  throw new FilterError(`at ${where}: ${what}`);
}

const kind = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'a list' : isJsonObject(value) ? 'an object' : `a ${typeof value}`;

/** Every entry of an object must pass (go-cqhttp's "and", also what any object in a filter means). */
function all(spec: unknown, place: Place): EventFilter {
  if (!isJsonObject(spec)) fail(place, `expected an object, got ${kind(spec)}`);
  const tests = Object.entries(spec).map(([key, value]): EventFilter => {
    const here = [...place, key];
    if (key === '') fail(here, 'expected a field path or an operator, got an empty key');
    if (key.startsWith('.')) return operator(key, value, here);
    const get = path(key, here);
    const test = isJsonObject(value) ? all(value, here) : equals(value);
    return (event) => test(get(event));
  });
  return (event) => tests.every((test) => test(event));
}

function operator(key: string, argument: unknown, place: Place): EventFilter {
  switch (key) {
    case '.not': {
      const inner = all(argument, place);
      return (value) => !inner(value);
    }
    case '.and':
      return all(argument, place);
    case '.or': {
      if (!Array.isArray(argument)) fail(place, `expected a list of objects, got ${kind(argument)}`);
      const any = argument.map((item, i) => all(item, [...place, i]));
      return (value) => any.some((test) => test(value));
    }
    case '.eq':
      return equals(argument);
    case '.neq': {
      const eq = equals(argument);
      return (value) => !eq(value);
    }
    case '.in': {
      if (isJsonObject(argument)) fail(place, `expected a list or a string, got ${kind(argument)}`);
      if (!Array.isArray(argument)) {
        const haystack = textOf(argument);
        return (value) => haystack.includes(textOf(value)); // the value is part of the string
      }
      const options = new Set(argument.map(textOf));
      return (value) => options.has(textOf(value));
    }
    case '.contains': {
      const needle = scalar(argument, place);
      return (value) => textOf(value).includes(needle);
    }
    case '.regex': {
      const pattern = regex(scalar(argument, place), place);
      return (value) => pattern.test(textOf(value));
    }
    default:
      return fail(place, `unknown operator "${key}" (expected one of ${OPERATORS.join(' ')})`);
  }
}

function equals(expected: unknown): EventFilter {
  const text = textOf(expected);
  return (value) => textOf(value) === text;
}

function scalar(argument: unknown, place: Place): string {
  if (Array.isArray(argument) || isJsonObject(argument)) fail(place, `expected a string, got ${kind(argument)}`);
  return textOf(argument);
}

/** A value as go-cqhttp's JSON library prints it: null and missing as "", other non-strings as JSON. */
function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A dotted path (`sender.sex`, `message.0.type`, `\.` for a dot inside a key, `#` for a list's length).
 * go-cqhttp reads paths with GJSON; its wildcards, queries and modifiers are refused rather than misread.
 */
function path(key: string, place: Place): (value: unknown) => unknown {
  if (/[*?|]|^@|\.@|#\(/.test(key.replace(/\\./g, ''))) {
    fail(
      place,
      'expected a dotted path such as "sender.user_id" or "message.0.type" (GJSON wildcards, queries and modifiers are not supported)',
    );
  }
  const steps = key.split(/(?<!\\)\./).map((step) => step.replace(/\\\./g, '.'));
  return (value) => steps.reduce(step, value);
}

function step(value: unknown, name: string): unknown {
  if (Array.isArray(value)) {
    if (name === '#') return value.length;
    return /^\d+$/.test(name) ? value[Number(name)] : undefined;
  }
  return isJsonObject(value) && Object.hasOwn(value, name) ? value[name] : undefined;
}

/**
 * A Go (RE2) pattern as a JavaScript one: leading flags such as `(?i)` become flags, `(?P<name>` is
 * `(?<name>`. Unicode-aware when the pattern allows it, since Go matches characters, not UTF-16 units.
 */
function regex(source: string, place: Place): RegExp {
  const [, flags = '', rest] = /^(?:\(\?([a-zA-Z]+)\))?([\s\S]*)$/.exec(source)!;
  if (/[^ims]/.test(flags)) fail(place, `expected a regular expression: flag "${flags}" is not supported (use i, m or s)`);
  const pattern = rest!.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(pattern, `${flags}u`);
  } catch {
    try {
      return new RegExp(pattern, flags);
    } catch (err) {
      return fail(place, `expected a regular expression: ${(err as Error).message}`);
    }
  }
}
