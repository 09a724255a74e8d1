// The analyze route's hand-written serializer gives exactly JSON.stringify's
// text for every view the schema allows, and covers every field of the schema.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analysisJson, type AnalysisView } from '../../src/api/errors/analysis-json.js';
import { analysisView } from '../../src/api/errors/schemas.js';
import { ERROR_TYPES, SEVERITIES, STRATEGIES } from '../../src/domain/statuses.js';

// Any code point, plus lone surrogates (JSON.stringify escapes them).
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 3 }));
const view: fc.Arbitrary<AnalysisView> = fc.record({
  errorType: fc.constantFrom(...ERROR_TYPES),
  severity: fc.constantFrom(...SEVERITIES),
  retryable: fc.boolean(),
  recommendedStrategy: fc.constantFrom(...STRATEGIES),
  pattern: fc.option(fc.record({ id: text, name: text, priority: fc.integer({ min: 0, max: 1000 }) }), { nil: null }),
  occurrences: fc.record({ pattern: fc.nat(), component: fc.nat() }),
  escalate: fc.boolean(),
  reasons: fc.array(text, { maxLength: 6 }),
});

describe('analysisJson', () => {
  it('is JSON.stringify of the view, quotes, control characters and lone surrogates included', () => {
    fc.assert(
      fc.property(view, (v) => {
        expect(analysisJson(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes every field of the schema, in its order', () => {
    const v: AnalysisView = {
      errorType: 'timeout',
      severity: 'high',
      retryable: true,
      recommendedStrategy: 'retry',
      pattern: { id: 'p"1', name: 'a\\b\n', priority: 7 },
      occurrences: { pattern: 6, component: 2 },
      escalate: true,
      reasons: [],
    };
    const parsed = JSON.parse(analysisJson(v)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(Object.keys(analysisView.shape));
    expect(analysisView.parse(parsed)).toEqual(v);
  });
});
