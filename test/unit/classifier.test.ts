import { describe, expect, it } from 'vitest';
import { ERROR_TYPE_DEFAULTS, classify, errorTypeForStatus, type Failure } from '../../src/domain/classifier.js';
import { EMPTY_PATTERN_SET, compilePatternSet, type ErrorPatternDefinition } from '../../src/domain/pattern-set.js';
import type { ErrorType } from '../../src/domain/statuses.js';

function pattern(over: Partial<ErrorPatternDefinition> & { id: string; regex: string }): ErrorPatternDefinition {
  return { name: `name of ${over.id}`, matchOn: 'message', priority: 0, enabled: true, ...over };
}

const http = (status: number, message = `HTTP ${status}`): Failure => ({ source: 'http', httpStatus: status, message, code: `HTTP_${status}` });

describe('HTTP status mapping', () => {
  it.each<[number, ErrorType, boolean]>([
    [429, 'rate_limited', true],
    [408, 'timeout', true],
    [425, 'unavailable', true],
    [500, 'unavailable', true],
    [502, 'unavailable', true],
    [503, 'unavailable', true],
    [504, 'unavailable', true],
    [400, 'validation', false],
    [422, 'validation', false],
    [401, 'auth', false],
    [403, 'auth', false],
    [404, 'not_found', false],
    [409, 'conflict', false],
    [418, 'validation', false],
    [451, 'validation', false],
    [501, 'internal', false],
    [505, 'internal', false],
  ])('HTTP %i -> %s, retryable %s', (status, type, retryable) => {
    const c = classify(http(status), EMPTY_PATTERN_SET);
    expect(c).toMatchObject({ errorType: type, retryable, httpStatus: status, code: `HTTP_${status}`, pattern: null });
    expect(c.severity).toBe(ERROR_TYPE_DEFAULTS[type].severity);
    expect(c.recommendedStrategy).toBe(ERROR_TYPE_DEFAULTS[type].strategy);
    expect(c.reasons[0]).toBe(`errorType ${type}: HTTP ${status}`);
  });

  it('leaves non-error statuses unmapped', () => {
    expect(errorTypeForStatus(200)).toBeUndefined();
    expect(errorTypeForStatus(302)).toBeUndefined();
  });

  it('keeps other 4xx non-retryable unless an explicit verdict says otherwise', () => {
    expect(classify(http(418), EMPTY_PATTERN_SET).retryable).toBe(false);
    expect(classify({ ...http(418), retryable: true }, EMPTY_PATTERN_SET).retryable).toBe(true);
  });
});

describe('outcome sources', () => {
  it.each<[Failure, ErrorType]>([
    [{ source: 'network', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' }, 'network'],
    [{ source: 'timeout', message: 'timeout after 5000 ms', code: 'ETIMEDOUT' }, 'timeout'],
    [{ source: 'circuit', message: 'circuit open' }, 'circuit_open'],
    [{ source: 'expression', message: 'T2002' }, 'validation'],
  ])('%j -> %s', (failure, type) => {
    const c = classify(failure, EMPTY_PATTERN_SET);
    expect(c.errorType).toBe(type);
    expect(c.retryable).toBe(ERROR_TYPE_DEFAULTS[type].retryable);
  });

  it('lets the source win over an HTTP status and a hint', () => {
    expect(classify({ source: 'network', message: 'reset', httpStatus: 404, hintType: 'auth' }, EMPTY_PATTERN_SET).errorType).toBe('network');
    expect(classify({ source: 'timeout', message: 't', httpStatus: 500 }, EMPTY_PATTERN_SET).errorType).toBe('timeout');
  });

  it('mentions the connection code in the reason', () => {
    expect(classify({ source: 'network', message: 'x', code: 'ECONNRESET' }, EMPTY_PATTERN_SET).reasons[0]).toContain('ECONNRESET');
  });
});

describe('hint type and worker verdicts', () => {
  it('uses the hint only when nothing else decides', () => {
    expect(classify({ source: 'task', message: 'out of gas', hintType: 'resource_exhausted' }, EMPTY_PATTERN_SET)).toMatchObject({
      errorType: 'resource_exhausted',
      retryable: false,
      recommendedStrategy: 'degrade',
    });
    expect(classify({ source: 'report', message: 'x', httpStatus: 503, hintType: 'auth' }, EMPTY_PATTERN_SET).errorType).toBe('unavailable');
    const p = compilePatternSet([pattern({ id: 'p', regex: 'gas', errorType: 'quality' })]);
    expect(classify({ source: 'task', message: 'out of gas', hintType: 'auth' }, p).errorType).toBe('quality');
  });

  it('is unknown (and retryable) without a status, pattern or hint', () => {
    const c = classify({ source: 'task', message: 'huh' }, EMPTY_PATTERN_SET);
    expect(c).toMatchObject({ errorType: 'unknown', retryable: true, recommendedStrategy: 'retry', code: null, httpStatus: null, retryAfterMs: null });
  });

  it('lets an explicit worker verdict override the type default', () => {
    expect(classify({ source: 'task', message: 'x', hintType: 'unavailable', retryable: false }, EMPTY_PATTERN_SET).retryable).toBe(false);
    const c = classify({ source: 'task', message: 'x', hintType: 'validation', retryable: true }, EMPTY_PATTERN_SET);
    expect(c.retryable).toBe(true);
    expect(c.reasons).toContain('retryable true: reported by the caller');
  });

  it('carries retryAfterMs, message and code through', () => {
    const c = classify({ ...http(429, 'slow down'), retryAfterMs: 1500 }, EMPTY_PATTERN_SET);
    expect(c).toMatchObject({ retryAfterMs: 1500, message: 'slow down', code: 'HTTP_429' });
  });
});

describe('error patterns', () => {
  it('overrides the fields a pattern defines and keeps defaults for the others', () => {
    const set = compilePatternSet([pattern({ id: 'slip', regex: 'slippage', errorType: 'quality', recommendedStrategy: 'correct' })]);
    const c = classify(http(500, 'slippage exceeded'), set);
    expect(c).toMatchObject({
      errorType: 'quality',
      recommendedStrategy: 'correct',
      severity: ERROR_TYPE_DEFAULTS.quality.severity,
      retryable: ERROR_TYPE_DEFAULTS.quality.retryable,
      pattern: { id: 'slip', name: 'name of slip', priority: 0 },
    });
    expect(c.reasons[0]).toContain('pattern slip');
    expect(c.reasons[0]).toContain('over unavailable');
    expect(c.reasons.find((r) => r.startsWith('recommendedStrategy'))).toContain('pattern slip');
  });

  it('can set only severity and retryable, keeping the mapped type', () => {
    const set = compilePatternSet([pattern({ id: 'oom', regex: 'out of memory', severity: 'fatal', retryable: false })]);
    const c = classify(http(503, 'worker out of memory'), set);
    expect(c).toMatchObject({ errorType: 'unavailable', severity: 'fatal', retryable: false, recommendedStrategy: 'retry' });
    expect(c.reasons).toEqual(expect.arrayContaining(['retryable false: pattern oom', 'severity fatal: pattern oom']));
  });

  it('overrides a worker verdict on retryable', () => {
    const set = compilePatternSet([pattern({ id: 'r', regex: 'busy', retryable: true })]);
    expect(classify({ source: 'task', message: 'busy', retryable: false }, set).retryable).toBe(true);
  });

  it('picks the highest priority among several matches, ties by id', () => {
    const set = compilePatternSet([
      pattern({ id: 'low', regex: 'fail', priority: 1, errorType: 'network' }),
      pattern({ id: 'high', regex: 'failed', priority: 10, errorType: 'conflict' }),
      pattern({ id: 'mid', regex: 'f', priority: 5, errorType: 'auth' }),
    ]);
    expect(classify({ source: 'task', message: 'it failed' }, set).pattern?.id).toBe('high');
    expect(classify({ source: 'task', message: 'it fail' }, set).pattern?.id).toBe('mid');
    const tie = compilePatternSet([pattern({ id: 'b', regex: 'x', priority: 3 }), pattern({ id: 'a', regex: 'x', priority: 3 })]);
    expect(tie.firstMatch('x', undefined)?.id).toBe('a');
  });

  it('ignores disabled patterns', () => {
    const set = compilePatternSet([
      pattern({ id: 'off', regex: 'boom', priority: 100, errorType: 'auth', enabled: false }),
      pattern({ id: 'on', regex: 'boom', priority: 1, errorType: 'conflict' }),
    ]);
    expect(set.size).toBe(1);
    expect(classify({ source: 'task', message: 'boom' }, set)).toMatchObject({ errorType: 'conflict', pattern: { id: 'on' } });
    const allOff = compilePatternSet([pattern({ id: 'off', regex: 'boom', enabled: false, errorType: 'auth' })]);
    expect(classify({ source: 'task', message: 'boom' }, allOff).pattern).toBeNull();
  });

  it('honours matchOn message, code and any', () => {
    const set = compilePatternSet([
      pattern({ id: 'msg', regex: 'E42', matchOn: 'message', priority: 3, errorType: 'auth' }),
      pattern({ id: 'code', regex: '^E42$', matchOn: 'code', priority: 2, errorType: 'conflict' }),
      pattern({ id: 'any', regex: 'Z9', matchOn: 'any', priority: 1, errorType: 'quality' }),
    ]);
    const pick = (message: string, code?: string) => set.firstMatch(message, code)?.id;
    expect(pick('code E42 in text')).toBe('msg');
    expect(pick('nothing', 'E42')).toBe('code');
    expect(pick('E42 both', 'E42')).toBe('msg');
    expect(pick('nothing', 'xE42')).toBeUndefined();
    expect(pick('Z9 here')).toBe('any');
    expect(pick('nothing', 'Z9')).toBe('any');
    expect(pick('nothing', 'nothing')).toBeUndefined();
  });

  it('is case-sensitive unless the regex says otherwise', () => {
    const set = compilePatternSet([pattern({ id: 'ci', regex: '(?i)timeout' }), pattern({ id: 'cs', regex: 'Refused', priority: 1 })]);
    expect(set.firstMatch('TIMEOUT', undefined)?.id).toBe('ci');
    expect(set.firstMatch('refused', undefined)).toBeUndefined();
  });

  it('matches pathological regexes in linear time', () => {
    const set = compilePatternSet([pattern({ id: 'evil', regex: '(a+)+$' }), pattern({ id: 'other', regex: '(x+x+)+y', priority: 2 })]);
    const message = `${'a'.repeat(50_000)}!`;
    const started = performance.now();
    expect(set.firstMatch(message, undefined)).toBeUndefined();
    expect(classify({ source: 'task', message }, set).pattern).toBeNull();
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('leaves out a regex RE2 cannot compile (the API refuses them with 422); the others still match', () => {
    const set = compilePatternSet([pattern({ id: 'bad', regex: '(a)\\1', priority: 900 }), pattern({ id: 'good', regex: 'timed out', priority: 1 })]);
    expect(set.firstMatch('aa timed out', undefined)?.id).toBe('good');
  });
});
