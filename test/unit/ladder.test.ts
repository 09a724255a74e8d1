import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_TYPE_DEFAULTS, type Classification } from '../../src/domain/classifier.js';
import { DEFAULT_CIRCUIT_WAIT_MS, decide, type BreakerView, type Decision, type FlowView, type StepRecoveryState } from '../../src/domain/ladder.js';
import { applyPatch } from '../../src/domain/patch.js';
import { normalizePlan, type NormalizedStep } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import { validatePlan } from '../../src/domain/plan-validation.js';
import { ERROR_TYPES, STRATEGIES, type ErrorType } from '../../src/domain/statuses.js';

const NOW = Date.parse('2024-05-01T00:00:00Z');
const RETRY = { maxAttempts: 3, baseDelayMs: 200, jitter: 'none' }; // exponential x2: 200, 400, ...

function stepOf(extra: Record<string, unknown> = {}, defaults?: Record<string, unknown>): NormalizedStep {
  const plan = planSchema.parse({ name: 't', ...(defaults ? { defaults } : {}), steps: [{ id: 's', kind: 'http', request: { method: 'POST', url: 'https://api.example/x' }, retry: RETRY, ...extra }] });
  expect(validatePlan(plan)).toEqual([]);
  return normalizePlan(plan).steps[0]!;
}

function state(config: NormalizedStep, over: Partial<StepRecoveryState> = {}): StepRecoveryState {
  return { config, current: config.primary, alternativeId: null, fallbackIndex: 0, degradationIndex: 0, countedAttempts: 1, correctionsUsed: {}, firstFailureAt: NOW, previousDelayMs: undefined, ...over };
}

function err(errorType: ErrorType, over: Partial<Classification> = {}): Classification {
  const d = ERROR_TYPE_DEFAULTS[errorType];
  return { errorType, severity: d.severity, retryable: d.retryable, recommendedStrategy: d.strategy, pattern: null, reasons: [], message: `${errorType} happened`, code: null, httpStatus: null, retryAfterMs: null, ...over };
}

interface Options {
  state?: Partial<StepRecoveryState>;
  flow?: Partial<FlowView>;
  breaker?: BreakerView;
  now?: number;
}
function run(config: NormalizedStep, error: Classification, o: Options = {}): Decision {
  return decide({ step: state(config, o.state), error, flow: { cancelled: false, deadlineAt: null, ...o.flow }, breaker: o.breaker, now: o.now ?? NOW, random: () => 0.5 });
}

function is<S extends Decision['strategy']>(d: Decision, strategy: S): Extract<Decision, { strategy: S }> {
  expect(d.strategy, d.reason).toBe(strategy);
  return d as Extract<Decision, { strategy: S }>;
}

const pattern = { id: 'p1', name: 'p1', priority: 5 };
const noopAlt = (id: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'noop', ...extra });

describe('stop', () => {
  const config = stepOf({ corrections: [{ when: {}, patch: { timeoutMs: 1 } }], fallbacks: [noopAlt('f')], escalation: { enabled: true } });

  it('stops a cancelled flow before any other rung', () => {
    expect(run(config, err('unavailable'), { flow: { cancelled: true } })).toMatchObject({ strategy: 'stop', error: 'cancelled' });
    expect(run(config, err('circuit_open'), { flow: { cancelled: true } })).toMatchObject({ strategy: 'stop', error: 'cancelled' });
  });

  it.each([
    [0, 'stop'],
    [1, 'stop'],
    [-1, 'correct'],
  ])('with now - deadline = %i -> %s', (offset, strategy) => {
    const d = run(config, err('unavailable'), { flow: { deadlineAt: NOW - offset } });
    expect(d.strategy).toBe(strategy);
    if (d.strategy === 'stop') expect(d.error).toBe('deadline_exceeded');
  });
});

describe('correct', () => {
  const config = stepOf({
    corrections: [
      { when: { errorTypes: ['auth'] }, patch: { timeoutMs: 1 } },
      { when: { messageMatches: 'slippage', httpStatuses: [422] }, patch: { 'request.body.slippageBps': 100 } },
      { when: { errorTypes: ['validation'] }, patch: { timeoutMs: 3 }, maxTimes: 2 },
    ],
  });
  const slip = err('validation', { message: 'slippage too high', httpStatus: 422 });

  it('applies the first matching rule, with its patch', () => {
    const d = is(run(config, slip), 'correct');
    expect(d.correctionIndex).toBe(1);
    expect(d.patch).toEqual({ 'request.body.slippageBps': 100 });
    expect(is(run(config, err('auth')), 'correct').correctionIndex).toBe(0);
  });

  it('requires every given field of `when` to match', () => {
    expect(is(run(config, { ...slip, httpStatus: 400 }), 'correct').correctionIndex).toBe(2);
  });

  it('respects maxTimes (default 1)', () => {
    expect(is(run(config, slip, { state: { correctionsUsed: { '1': 1 } } }), 'correct').correctionIndex).toBe(2);
    const again = is(run(config, slip, { state: { correctionsUsed: { '1': 1, '2': 1 } } }), 'correct');
    expect(again.correctionIndex).toBe(2);
    expect(again.reason).toContain('used 2 of 2');
    expect(run(config, slip, { state: { correctionsUsed: { '1': 1, '2': 2 } } }).strategy).toBe('fail');
  });

  it('comes before retry and does not need attempts left', () => {
    const retryable = stepOf({ corrections: [{ when: { errorTypes: ['unavailable'] }, patch: { timeoutMs: 5 } }] });
    expect(run(retryable, err('unavailable')).strategy).toBe('correct');
    expect(run(retryable, err('unavailable'), { state: { countedAttempts: 3 } }).strategy).toBe('correct');
  });
});

describe('retry', () => {
  const config = stepOf();

  it.each([
    [1, 200],
    [2, 400],
  ])('after %i counted attempts waits %i ms (exponential, no jitter)', (countedAttempts, delayMs) => {
    const d = is(run(config, err('unavailable'), { state: { countedAttempts } }), 'retry');
    expect(d).toMatchObject({ delayMs, previousDelayMs: delayMs });
    expect(d.reason).toContain(`attempt ${countedAttempts + 1} of 3`);
  });

  it('stops retrying once maxAttempts are used', () => {
    expect(is(run(config, err('unavailable'), { state: { countedAttempts: 3 } }), 'fail').reason).toContain('3 of 3 attempts used');
  });

  it('does not retry a non-retryable error', () => {
    expect(is(run(config, err('validation')), 'fail').reason).toContain('not retryable');
    expect(run(config, err('unknown', { retryable: false })).strategy).toBe('fail');
  });

  it('only retries types listed in retryOn', () => {
    const only = stepOf({ retry: { ...RETRY, retryOn: ['timeout'] } });
    expect(is(run(only, err('unavailable')), 'fail').reason).toContain('not in retryOn');
    expect(run(only, err('timeout')).strategy).toBe('retry');
  });

  it.each(['fallback', 'degrade', 'escalate'] as const)('skips retry when a pattern recommends %s', (strategy) => {
    const withFallback = stepOf({ fallbacks: [noopAlt('f')] });
    const d = run(withFallback, err('unavailable', { pattern, recommendedStrategy: strategy }));
    expect(is(d, 'fallback').alternative.id).toBe('f');
    expect(is(run(config, err('unavailable', { pattern, recommendedStrategy: strategy })), 'fail').reason).toContain(`pattern p1 recommends ${strategy}`);
  });

  it('retries when the recommendation comes from the type default, not a pattern', () => {
    expect(run(config, err('unavailable', { recommendedStrategy: 'fallback' })).strategy).toBe('retry');
    expect(run(config, err('unavailable', { pattern, recommendedStrategy: 'correct' })).strategy).toBe('retry');
  });

  it('honours Retry-After and never undercuts it', () => {
    const later = is(run(config, err('rate_limited', { retryAfterMs: 5000 })), 'retry');
    expect(later.delayMs).toBe(5000);
    expect(later.reason).toContain('Retry-After');
    expect(is(run(config, err('rate_limited', { retryAfterMs: 50 })), 'retry').delayMs).toBe(200);
    const ignoring = stepOf({ retry: { ...RETRY, respectRetryAfter: false } });
    expect(is(run(ignoring, err('rate_limited', { retryAfterMs: 5000 })), 'retry').delayMs).toBe(200);
  });

  it('skips retry when it would pass maxRecoveryTimeMs', () => {
    const bounded = stepOf({ maxRecoveryTimeMs: 1000 });
    expect(is(run(bounded, err('rate_limited', { retryAfterMs: 5000 })), 'fail').reason).toContain('maxRecoveryTimeMs');
    expect(run(bounded, err('unavailable'), { state: { firstFailureAt: NOW - 800 } }).strategy).toBe('fail');
    expect(is(run(bounded, err('unavailable'), { state: { firstFailureAt: NOW - 799 } }), 'retry').delayMs).toBe(200);
  });

  it('uses the policy of the current alternative and the injected random source', () => {
    const config2 = stepOf({ retry: { maxAttempts: 5 }, fallbacks: [noopAlt('f', { retry: { maxAttempts: 1 } })] });
    expect(is(run(config2, err('unavailable')), 'retry').delayMs).toBe(500); // default: 1000 ms, full jitter at 0.5
    const onFallback = { current: config2.fallbacks[0]!, alternativeId: 'f', fallbackIndex: 1 };
    expect(run(config2, err('unavailable'), { state: onFallback }).strategy).toBe('fail');
  });
});

describe('fallback and degrade', () => {
  const config = stepOf({
    fallbacks: [noopAlt('f0', { when: { errorTypes: ['auth'] } }), noopAlt('f1', { when: { errorTypes: ['validation'], messageMatches: '^bad' } }), noopAlt('f2')],
    degradations: [
      { id: 'd0', quality: 0.9, when: { errorTypes: ['rate_limited'] }, patch: { timeoutMs: 1 } },
      { id: 'd1', quality: 0.5, patch: { 'request.body.amount': 1 } },
      noopAlt('d2', { quality: 0.25 }),
    ],
  });
  const bad = err('validation', { message: 'bad input' });

  it.each([
    [0, 'f1', 1],
    [1, 'f1', 1],
    [2, 'f2', 2],
  ])('from fallbackIndex %i picks %s (index %i)', (fallbackIndex, id, index) => {
    const d = is(run(config, bad, { state: { fallbackIndex } }), 'fallback');
    expect(d).toMatchObject({ index, alternative: { id, kind: 'noop' } });
  });

  it('skips fallbacks whose when does not match', () => {
    expect(is(run(config, err('validation', { message: 'other' })), 'fallback').index).toBe(2);
    expect(is(run(config, err('auth')), 'fallback').alternative.id).toBe('f0');
  });

  it.each([
    [0, 'd1', 1],
    [2, 'd2', 2],
  ])('after the fallbacks, from degradationIndex %i degrades to %s', (degradationIndex, id, index) => {
    const d = is(run(config, bad, { state: { fallbackIndex: 3, degradationIndex } }), 'degrade');
    expect(d.index).toBe(index);
    expect(d.degradation.id).toBe(id);
  });

  it('returns the degradation definition (patch or full step)', () => {
    const patch = is(run(config, bad, { state: { fallbackIndex: 3 } }), 'degrade');
    expect(patch.degradation).toEqual({ id: 'd1', quality: 0.5, patch: { 'request.body.amount': 1 } });
    const rate = is(run(config, err('rate_limited'), { state: { fallbackIndex: 3, countedAttempts: 3 } }), 'degrade');
    expect(rate.degradation.id).toBe('d0');
  });

  it('fails once every alternative is used', () => {
    expect(run(config, bad, { state: { fallbackIndex: 3, degradationIndex: 3 } }).strategy).toBe('fail');
  });
});

describe('escalate and fail', () => {
  it('escalates only when escalation is enabled', () => {
    expect(is(run(stepOf({ escalation: { enabled: true } }), err('auth')), 'escalate').reason).toContain('not retryable');
    expect(run(stepOf({ escalation: { enabled: false } }), err('auth')).strategy).toBe('fail');
    expect(run(stepOf({}, { escalation: { enabled: true } }), err('auth')).strategy).toBe('escalate');
  });
});

describe('circuit_open', () => {
  const breaker = { nextProbeAt: NOW + 1000 };
  const everything = { corrections: [{ when: {}, patch: { timeoutMs: 1 } }], fallbacks: [noopAlt('f')], maxRecoveryTimeMs: 30000 };

  it('goes straight to fallback, past corrections and retry', () => {
    expect(is(run(stepOf(everything), err('circuit_open'), { breaker }), 'fallback').alternative.id).toBe('f');
  });

  it('waits for half-open without a fallback, within maxRecoveryTimeMs', () => {
    const config = stepOf({ maxRecoveryTimeMs: 30000, fallbacks: [noopAlt('f', { when: { errorTypes: ['auth'] } })] });
    expect(is(run(config, err('circuit_open'), { breaker }), 'wait_circuit').delayMs).toBe(1000);
    expect(run(config, err('circuit_open'), { breaker: { nextProbeAt: NOW + 29_999 } }).strategy).toBe('wait_circuit');
    expect(is(run(config, err('circuit_open'), { breaker: { nextProbeAt: NOW + 30_000 } }), 'fail').reason).toContain('circuit open');
  });

  it('bounds the wait by DEFAULT_CIRCUIT_WAIT_MS without maxRecoveryTimeMs', () => {
    const config = stepOf();
    const firstFailureAt = NOW - 1000;
    const edge = firstFailureAt + DEFAULT_CIRCUIT_WAIT_MS;
    expect(is(run(config, err('circuit_open'), { state: { firstFailureAt }, breaker: { nextProbeAt: edge - 1 } }), 'wait_circuit').delayMs).toBe(edge - 1 - NOW);
    expect(run(config, err('circuit_open'), { state: { firstFailureAt }, breaker: { nextProbeAt: edge } }).strategy).toBe('fail');
  });

  it('never retries, even when retryable with attempts left', () => {
    const config = stepOf({ degradations: [{ id: 'd', quality: 0.5, patch: { timeoutMs: 1 } }] });
    expect(run(config, err('circuit_open'), { breaker: { nextProbeAt: NOW + DEFAULT_CIRCUIT_WAIT_MS } }).strategy).toBe('degrade');
    expect(run(stepOf({ escalation: { enabled: true } }), err('circuit_open')).strategy).toBe('escalate');
    expect(run(stepOf(), err('circuit_open')).strategy).toBe('fail');
  });
});

describe('property: a step failing forever always reaches a final decision', () => {
  const whenArb = fc.option(fc.record({ errorTypes: fc.subarray([...ERROR_TYPES], { minLength: 1 }) }), { nil: undefined });
  const planArb = fc.record({
    retry: fc.record({ maxAttempts: fc.integer({ min: 1, max: 10 }), backoff: fc.constantFrom('constant', 'linear', 'exponential', 'fibonacci', 'decorrelated'), jitter: fc.constantFrom('none', 'full', 'equal', 'decorrelated') }),
    corrections: fc.array(fc.record({ when: whenArb.map((w) => w ?? {}), maxTimes: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3 }),
    fallbacks: fc.array(fc.record({ when: whenArb, maxAttempts: fc.integer({ min: 1, max: 10 }) }), { maxLength: 3 }),
    degradations: fc.array(fc.record({ when: whenArb, full: fc.boolean() }), { maxLength: 3 }),
    escalation: fc.boolean(),
    maxRecoveryTimeMs: fc.option(fc.integer({ min: 1, max: 3_600_000 }), { nil: undefined }),
  });
  const errorArb = fc.record({
    errorType: fc.constantFrom(...ERROR_TYPES),
    retryable: fc.boolean(),
    recommendedStrategy: fc.constantFrom(...STRATEGIES),
    withPattern: fc.boolean(),
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: null }),
  });

  it('terminates within 10,000 decisions, respecting maxAttempts', () => {
    fc.assert(
      fc.property(planArb, fc.array(errorArb, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1000, max: 60_000 }), fc.integer({ min: 1, max: 5000 }), fc.integer(), (p, errors, probeOffset, duration, seed) => {
        const config = stepOf({
          retry: p.retry,
          corrections: p.corrections.map((c, i) => ({ ...c, patch: { [`request.body.c${i}`]: i } })),
          fallbacks: p.fallbacks.map((f, i) => noopAlt(`f${i}`, { retry: { maxAttempts: f.maxAttempts }, ...(f.when ? { when: f.when } : {}) })),
          degradations: p.degradations.map((d, i) => ({
            ...(d.full ? { kind: 'noop' } : { patch: { timeoutMs: 100 + i } }),
            id: `d${i}`,
            quality: 0.5,
            ...(d.when ? { when: d.when } : {}),
          })),
          escalation: { enabled: p.escalation },
          ...(p.maxRecoveryTimeMs ? { maxRecoveryTimeMs: p.maxRecoveryTimeMs } : {}),
        });
        let seedState = seed >>> 0;
        const random = () => ((seedState = (Math.imul(seedState, 1664525) + 1013904223) >>> 0) / 4294967296);
        let s = state(config);
        let now = NOW;
        for (let n = 0; ; n++) {
          expect(n).toBeLessThan(10_000);
          const e = errors[n % errors.length]!;
          const error = err(e.errorType, { retryable: e.retryable, recommendedStrategy: e.recommendedStrategy, pattern: e.withPattern ? pattern : null, retryAfterMs: e.retryAfterMs });
          const breaker = e.errorType === 'circuit_open' ? { nextProbeAt: now + probeOffset } : undefined;
          const d = decide({ step: s, error, flow: { cancelled: false, deadlineAt: null }, breaker, now, random });
          if (d.strategy === 'retry') {
            expect(s.countedAttempts).toBeLessThan(s.current.retry.maxAttempts);
            expect(d.delayMs).toBeGreaterThanOrEqual(0);
            s = { ...s, countedAttempts: s.countedAttempts + 1, previousDelayMs: d.previousDelayMs };
            now += d.delayMs + duration;
          } else if (d.strategy === 'correct') {
            const used = s.correctionsUsed[String(d.correctionIndex)] ?? 0;
            s = { ...s, current: applyPatch(s.current, d.patch), correctionsUsed: { ...s.correctionsUsed, [String(d.correctionIndex)]: used + 1 } };
            now += duration;
          } else if (d.strategy === 'wait_circuit') {
            expect(d.delayMs).toBeGreaterThan(0);
            now += d.delayMs + duration;
          } else if (d.strategy === 'fallback') {
            expect(d.index).toBeGreaterThanOrEqual(s.fallbackIndex);
            s = { ...s, current: d.alternative, alternativeId: d.alternative.id, fallbackIndex: d.index + 1, countedAttempts: 1, previousDelayMs: undefined };
            now += duration;
          } else if (d.strategy === 'degrade') {
            expect(d.index).toBeGreaterThanOrEqual(s.degradationIndex);
            const next = 'patch' in d.degradation ? applyPatch(s.current, d.degradation.patch) : d.degradation;
            s = { ...s, current: next, alternativeId: d.degradation.id, degradationIndex: d.index + 1, countedAttempts: 1, previousDelayMs: undefined };
            now += duration;
          } else {
            expect(d.strategy).toBe(p.escalation ? 'escalate' : 'fail');
            return;
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
