import { describe, expect, it } from 'vitest';
import { defaultCancelCompensates, failureConsequence, settledFlowStatus } from '../../src/domain/atomic-modes.js';
import { MODES, type Mode } from '../../src/domain/statuses.js';

describe('failureConsequence', () => {
  it.each<[Mode, boolean, 'fail_flow' | 'tolerate']>([
    ['strict', true, 'fail_flow'],
    ['strict', false, 'fail_flow'],
    ['conditional', true, 'fail_flow'],
    ['conditional', false, 'tolerate'],
    ['lenient', true, 'tolerate'],
    ['lenient', false, 'tolerate'],
  ])('%s mode, critical=%s -> %s', (mode, critical, expected) => {
    expect(failureConsequence(mode, critical)).toBe(expected);
  });

  it('covers every mode', () => {
    expect([...MODES].sort()).toEqual(['conditional', 'lenient', 'strict']);
  });
});

describe('defaultCancelCompensates', () => {
  it.each<[Mode, boolean]>([
    ['strict', true],
    ['conditional', true],
    ['lenient', false],
  ])('%s -> %s', (mode, expected) => {
    expect(defaultCancelCompensates(mode)).toBe(expected);
  });
});

describe('settledFlowStatus', () => {
  it.each([
    [0, 'completed'],
    [1, 'completed_with_errors'],
    [7, 'completed_with_errors'],
  ])('%i failed steps -> %s', (failed, expected) => {
    expect(settledFlowStatus(failed)).toBe(expected);
  });
});
