// The deadline check every start path shares (domain/deadline.ts).
import { describe, expect, it } from 'vitest';
import { deadlineReason, passedDeadline } from '../../src/domain/deadline.js';

const AT = Date.parse('2026-01-01T00:00:00.000Z');

describe('passedDeadline', () => {
  it.each([
    [null, AT, false],
    [AT, AT - 1, false],
    [AT, AT, true],
    [AT, AT + 1, true],
  ])('deadline %s at %i -> %s', (deadlineAt, now, passed) => {
    expect(passedDeadline(deadlineAt, now)).toBe(passed);
  });

  it('gives the reason the ladder, the start check and the sweeper record', () => {
    expect(deadlineReason(AT)).toBe('the flow passed its deadline (2026-01-01T00:00:00.000Z)');
  });
});
