// JSON text as Postgres stores it. jsonb refuses the escape \u0000 and
// unpaired UTF-16 surrogates (\ud800 alone), which JSON.stringify writes for
// such strings, and recursion on deeply nested documents exhausts stacks
// (ours when serialising, Postgres's when parsing). Data the service did not
// validate itself (upstream answers, expression results) goes through here
// before it is stored.

/** Deepest nesting of arrays and objects accepted in a JSON document. */
export const MAX_JSON_DEPTH = 100;

/** The deepest bracket nesting of a JSON text (strings skipped), stopping early past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/**
 * Whether `text` nests arrays and objects deeper than `limit`. Nesting never
 * exceeds the number of opening brackets, and counting those with indexOf
 * is several times faster than jsonDepth's walk, so texts with few of them
 * (most request bodies and upstream answers) skip the walk.
 */
export function nestedDeeperThan(text: string, limit: number): boolean {
  let openers = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) {
      if (++openers > limit) return jsonDepth(text, limit) > limit;
    }
  }
  return false;
}

/**
 * An escape Postgres cannot store, after an even run of backslashes (an odd
 * run makes it literal text): \u0000, a high surrogate not followed by a low
 * one, a low one not preceded by a high one. Group 1 is the run.
 */
const UNSTORABLE_ESCAPE =
  /(?<!\\)((?:\\\\)*)(?:\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2})/g;

/** Whether a JSON text holds an escape Postgres cannot store. */
export function hasUnstorableEscape(text: string): boolean {
  if (!text.includes('\\u')) return false;
  UNSTORABLE_ESCAPE.lastIndex = 0;
  return UNSTORABLE_ESCAPE.test(text);
}

/** `text` (JSON) with every escape Postgres cannot store replaced by U+FFFD; the same string when there is none. */
export function storableJson(text: string): string {
  if (!text.includes('\\u')) return text;
  return text.replace(UNSTORABLE_ESCAPE, (_match, run: string) => `${run}\\ufffd`);
}

/** NUL characters and unpaired surrogates of a string. */
const UNSTORABLE_CHAR = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with NUL characters and unpaired surrogates replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_CHAR, '\ufffd');
}
