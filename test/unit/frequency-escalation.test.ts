import { describe, expect, it } from 'vitest';
import { FREQUENCY_THRESHOLD, frequencyEscalation, raiseSeverity } from '../../src/domain/frequency-escalation.js';
import { SEVERITIES, type Severity } from '../../src/domain/statuses.js';

const RAISED: [Severity, Severity][] = [
  ['low', 'medium'],
  ['medium', 'high'],
  ['high', 'critical'],
  ['critical', 'critical'], // never above critical
  ['fatal', 'fatal'], // fatal stays fatal
];

describe('raiseSeverity', () => {
  it('covers every severity', () => {
    expect(RAISED.map(([s]) => s).sort()).toEqual([...SEVERITIES].sort());
  });
  it.each(RAISED)('%s -> %s', (from, to) => {
    expect(raiseSeverity(from)).toBe(to);
  });
});

describe('frequencyEscalation', () => {
  it('the threshold is 5 occurrences', () => {
    expect(FREQUENCY_THRESHOLD).toBe(5);
  });

  it.each(SEVERITIES.flatMap((s) => [0, 1, 5].map((n) => [n, s] as const)))('%i occurrences (%s): no escalation, severity unchanged', (n, s) => {
    expect(frequencyEscalation(n, s)).toEqual({ escalate: false, severity: s });
  });

  it.each(RAISED)('6 occurrences (%s): escalates with the raised severity %s', (from, to) => {
    const r = frequencyEscalation(6, from);
    expect(r).toEqual({ escalate: true, severity: to, reason: expect.any(String) });
    expect(r.reason).toMatch(/\b6 occurrences\b/);
    expect(r.reason).toContain(`more than ${FREQUENCY_THRESHOLD}`);
    expect(r.reason).toContain(`${from} -> ${to}`);
  });

  it.each([7, 42, 1000])('%i occurrences: the reason names that count', (n) => {
    const r = frequencyEscalation(n, 'low');
    expect(r).toMatchObject({ escalate: true, severity: 'medium' });
    expect(r.reason).toMatch(new RegExp(`\\b${n} occurrences\\b`));
  });
});
