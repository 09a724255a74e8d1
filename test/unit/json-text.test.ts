// JSON text Postgres can store: escapes it refuses become U+FFFD, literal
// backslashes and valid surrogate pairs stay as they are.
import { describe, expect, it } from 'vitest';
import { hasUnstorableEscape, jsonDepth, storableJson, storableText } from '../../src/domain/json-text.js';

describe('storable JSON text', () => {
  it.each([
    ['"a\\u0000b"', '"a\\ufffdb"'],
    ['"\\ud800"', '"\\ufffd"'],
    ['"\\udc00x"', '"\\ufffdx"'],
    ['"\\ud83d\\ude00"', '"\\ud83d\\ude00"'],
    ['"\\ud83d\\ud83d\\ude00"', '"\\ufffd\\ud83d\\ude00"'],
    ['"C:\\\\u0000dir"', '"C:\\\\u0000dir"'],
    ['"\\\\\\u0000"', '"\\\\\\ufffd"'],
    ['{"k\\u0000":1}', '{"k\\ufffd":1}'],
    ['"plain"', '"plain"'],
  ])('storableJson(%s) = %s', (text, stored) => {
    expect(storableJson(text)).toBe(stored);
    expect(hasUnstorableEscape(text)).toBe(stored !== text);
    expect(() => JSON.parse(storableJson(text))).not.toThrow();
  });

  it('repeated calls find every escape (the shared regex keeps no state between them)', () => {
    for (let i = 0; i < 3; i++) expect(hasUnstorableEscape('"x\\u0000"')).toBe(true);
  });

  it('storableText replaces NUL and unpaired surrogates, keeps pairs', () => {
    expect(storableText('a\u0000b\ud800c\udc00😀')).toBe('a\ufffdb\ufffdc\ufffd😀');
  });

  it('jsonDepth skips strings and stops early past the limit', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3);
    expect(jsonDepth('['.repeat(1000), 100)).toBe(101);
  });
});
