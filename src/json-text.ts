// Edits of JSON text that leave the rest of it as it was: the relay swaps one field of a frame it has already
// parsed (and so knows to be valid) without writing megabytes of params again. Strings are skipped with indexOf,
// so a 4 MB base64 image costs a memchr, not a loop in JavaScript.

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, i: number): number {
  while (WHITESPACE.has(text[i]!)) i++;
  return i;
}

/** The index just past the string that starts (with its quote) at `i`. */
function stringEnd(text: string, i: number): number {
  for (let from = i + 1; ; ) {
    const quote = text.indexOf('"', from);
    let backslashes = 0;
    while (text[quote - 1 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index just past the value that starts at `i`. */
function valueEnd(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return stringEnd(text, i);
  if (first !== '{' && first !== '[') {
    while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  for (;;) {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
    if (depth === 0) return i;
  }
}

/**
 * `object` (the text of a valid JSON object) with its top-level `key` set to `json` (a JSON value's text): the old
 * value replaced where it stood, or the key added at the end. Everything else stays byte for byte.
 */
export function withField(object: string, key: string, json: string): string {
  let i = skipWhitespace(object, skipWhitespace(object, 0) + 1);
  while (object[i] === '"') {
    const keyEnd = stringEnd(object, i);
    const name = object.slice(i, keyEnd);
    const valueStart = skipWhitespace(object, skipWhitespace(object, keyEnd) + 1);
    const end = valueEnd(object, valueStart);
    if (name === `"${key}"` || (name.includes('\\') && JSON.parse(name) === key)) {
      return object.slice(0, valueStart) + json + object.slice(end);
    }
    i = skipWhitespace(object, end);
    if (object[i] === ',') i = skipWhitespace(object, i + 1);
  }
  // i is at the closing brace: add the key after the last member, if any.
  const last = object.slice(0, i).trimEnd();
  const comma = last.endsWith('{') ? '' : ',';
  return `${last}${comma}${JSON.stringify(key)}:${json}${object.slice(i)}`;
}
