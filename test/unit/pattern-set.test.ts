// The compiled pattern set: patterns heavy enough that together they outgrow
// the memory RE2 allows one set still compile (in several sets) and match
// with the same priority rules.
import { describe, expect, it } from 'vitest';
import RE2 from 're2';
import { compilePatternSet, type ErrorPatternDefinition } from '../../src/domain/pattern-set.js';

/** Valid alone (RE2 compiles each), but 50 of them exceed one set's budget. */
const heavy = (i: number): ErrorPatternDefinition => ({
  id: `heavy-${String(i).padStart(2, '0')}`,
  name: `heavy ${i}`,
  regex: `(?i)[a-z]{0,200}x[a-z]{0,200}y[a-z]{0,200}#${i}#`,
  matchOn: 'message',
  errorType: 'internal',
  priority: 100 - i,
  enabled: true,
});

describe('pattern sets', () => {
  it('fifty heavy patterns that no single RE2 set can hold still compile and match by priority', () => {
    const patterns = Array.from({ length: 50 }, (_, i) => heavy(i));
    expect(() => new RE2.Set(patterns.map((p) => p.regex))).toThrow();

    const set = compilePatternSet(patterns);

    expect(set.size).toBe(50);
    expect(set.sets).toBeGreaterThan(1);
    expect(set.firstMatch('xay#41#', undefined)?.id).toBe('heavy-41');
    // Several match: the highest priority wins, across sets.
    expect(set.firstMatch('xay#45# and xby#3# and xcy#27#', undefined)?.id).toBe('heavy-03');
    expect(set.firstMatch('nothing here', undefined)).toBeUndefined();
  });

  it('light patterns stay in one set', () => {
    const set = compilePatternSet([
      { id: 'a', name: 'a', regex: 'timed out', matchOn: 'any', priority: 1, enabled: true },
      { id: 'b', name: 'b', regex: '^E[0-9]+$', matchOn: 'code', priority: 2, enabled: true },
    ]);
    expect(set.sets).toBe(2); // one for messages, one for codes
    expect(set.firstMatch('request timed out', 'E42')?.id).toBe('b');
  });

  it('matches characters, not bytes, in text beyond ASCII', () => {
    const set = compilePatternSet([
      { id: 'three', name: 'three characters', regex: '^Fehler: .{3}$', matchOn: 'message', priority: 1, enabled: true },
      { id: 'accent', name: 'case folding', regex: '(?i)ÉCHEC', matchOn: 'any', priority: 2, enabled: true },
    ]);
    expect(set.firstMatch('Fehler: äöü', undefined)?.id).toBe('three');
    expect(set.firstMatch('Fehler: äöüß', undefined)).toBeUndefined();
    expect(set.firstMatch('paiement: échec du débit', undefined)?.id).toBe('accent');
    expect(set.firstMatch('ok', 'Échec')?.id).toBe('accent');
  });
});
