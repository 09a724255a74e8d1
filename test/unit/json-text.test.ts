// JSON text Postgres can store: escapes it refuses become U+FFFD, literal
// backslashes and valid surrogate pairs stay as they are.
import { describe, expect, it } from 'vitest';
import { hasUnstorableEscape, jsonDepth, nestedDeeperThan, storableJson, storableText } from '../../src/domain/json-text.js';

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

  it('nestedDeeperThan agrees with jsonDepth, brackets inside strings and escaped quotes included', () => {
    let seed = 11;
    const random = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    const pieces = ['{', '}', '[', ']', '"', '\\"', '\\\\', 'a', ',', ':', '"[[{"', '1'];
    const texts = ['', '{}', '{"ok":true}', '['.repeat(101), '['.repeat(100), `"${'['.repeat(300)}"`, `[${'{},'.repeat(200)}{}]`];
    for (let i = 0; i < 2000; i++) texts.push(Array.from({ length: random(60) }, () => pieces[random(pieces.length)]).join(''));
    for (const text of texts) {
      for (const limit of [0, 1, 2, 3, 5, 100]) expect(nestedDeeperThan(text, limit), `${text} at ${limit}`).toBe(jsonDepth(text) > limit);
    }
  });
});
