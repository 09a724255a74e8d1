// One classifier for every failure: executor attempts and POST /v1/errors/analyze.
// The outcome (HTTP status, connection error, timeout) maps first; then the
// highest-priority matching pattern refines the fields it defines. `reasons`
// says where each field came from.
import type { PatternSet } from './pattern-set.js';
import type { ErrorType, Severity, Strategy } from './statuses.js';

export type FailureSource = 'http' | 'network' | 'timeout' | 'task' | 'expression' | 'definition' | 'circuit' | 'policy' | 'report' | 'internal';

export interface Failure {
  source: FailureSource;
  message: string;
  code?: string | undefined;
  httpStatus?: number | undefined;
  /** The reporter's or worker's own type, used when no mapping or pattern decides. */
  hintType?: ErrorType | undefined;
  /** A worker's explicit verdict on retrying. */
  retryable?: boolean | undefined;
  retryAfterMs?: number | undefined;
}

export interface Classification {
  errorType: ErrorType;
  severity: Severity;
  retryable: boolean;
  recommendedStrategy: Strategy;
  pattern: { id: string; name: string; priority: number } | null;
  reasons: string[];
  message: string;
  code: string | null;
  httpStatus: number | null;
  retryAfterMs: number | null;
}

interface TypeDefaults {
  severity: Severity;
  retryable: boolean;
  strategy: Strategy;
}

/** What each error type means when nothing more specific is known. */
export const ERROR_TYPE_DEFAULTS: Record<ErrorType, TypeDefaults> = {
  timeout: { severity: 'medium', retryable: true, strategy: 'retry' },
  network: { severity: 'medium', retryable: true, strategy: 'retry' },
  rate_limited: { severity: 'low', retryable: true, strategy: 'retry' },
  unavailable: { severity: 'high', retryable: true, strategy: 'retry' },
  circuit_open: { severity: 'medium', retryable: true, strategy: 'fallback' },
  validation: { severity: 'medium', retryable: false, strategy: 'correct' },
  auth: { severity: 'high', retryable: false, strategy: 'escalate' },
  not_found: { severity: 'medium', retryable: false, strategy: 'fallback' },
  conflict: { severity: 'medium', retryable: false, strategy: 'none' },
  resource_exhausted: { severity: 'high', retryable: false, strategy: 'degrade' },
  quality: { severity: 'medium', retryable: false, strategy: 'degrade' },
  internal: { severity: 'high', retryable: false, strategy: 'escalate' },
  unknown: { severity: 'medium', retryable: true, strategy: 'retry' },
};

/** DESIGN's HTTP status mapping; undefined for statuses it leaves open. */
export function errorTypeForStatus(status: number): ErrorType | undefined {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if ([425, 500, 502, 503, 504].includes(status)) return 'unavailable';
  if (status === 400 || status === 422) return 'validation';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status >= 400 && status < 500) return 'validation';
  if (status >= 500) return 'internal';
  return undefined;
}

function mapOutcome(failure: Failure): { type: ErrorType; reason: string } | undefined {
  switch (failure.source) {
    case 'network':
      return { type: 'network', reason: `errorType network: connection error ${failure.code ?? ''}`.trim() };
    case 'timeout':
      return { type: 'timeout', reason: 'errorType timeout: the attempt exceeded its timeout' };
    case 'circuit':
      return { type: 'circuit_open', reason: 'errorType circuit_open: the circuit breaker is open' };
    case 'expression':
      return { type: 'validation', reason: 'errorType validation: an expression could not be evaluated' };
    case 'definition':
      return { type: 'validation', reason: 'errorType validation: the step definition, after its patches and expressions, cannot run' };
    case 'policy':
      return { type: 'validation', reason: 'errorType validation: the target address is not allowed (HTTP_ALLOWED_HOSTS)' };
    default:
      break;
  }
  if (failure.httpStatus !== undefined) {
    const type = errorTypeForStatus(failure.httpStatus);
    if (type) return { type, reason: `errorType ${type}: HTTP ${failure.httpStatus}` };
  }
  return undefined;
}

export function classify(failure: Failure, patterns: PatternSet): Classification {
  const reasons: string[] = [];
  const mapped = mapOutcome(failure);
  const pattern = patterns.firstMatch(failure.message, failure.code);

  let errorType: ErrorType;
  if (pattern?.errorType) {
    errorType = pattern.errorType;
    reasons.push(`errorType ${errorType}: pattern ${pattern.id} (priority ${pattern.priority})${mapped ? ` over ${mapped.type}` : ''}`);
  } else if (mapped) {
    errorType = mapped.type;
    reasons.push(mapped.reason);
  } else if (failure.hintType) {
    errorType = failure.hintType;
    reasons.push(`errorType ${errorType}: reported by the caller`);
  } else {
    errorType = 'unknown';
    reasons.push('errorType unknown: no mapping or pattern applies');
  }

  const defaults = ERROR_TYPE_DEFAULTS[errorType];
  const nonRetryableStatus = failure.source === 'http' && failure.httpStatus !== undefined && failure.httpStatus < 500 && errorType === 'validation';
  let retryable = nonRetryableStatus ? false : defaults.retryable;
  let retryableReason = `retryable ${retryable}: default for ${errorType}`;
  if (failure.retryable !== undefined) {
    retryable = failure.retryable;
    retryableReason = `retryable ${retryable}: reported by the caller`;
  }
  if (pattern && pattern.retryable !== null && pattern.retryable !== undefined) {
    retryable = pattern.retryable;
    retryableReason = `retryable ${retryable}: pattern ${pattern.id}`;
  }
  reasons.push(retryableReason);

  const severity = pattern?.severity ?? defaults.severity;
  reasons.push(pattern?.severity ? `severity ${severity}: pattern ${pattern.id}` : `severity ${severity}: default for ${errorType}`);
  const recommendedStrategy = pattern?.recommendedStrategy ?? defaults.strategy;
  reasons.push(
    pattern?.recommendedStrategy
      ? `recommendedStrategy ${recommendedStrategy}: pattern ${pattern.id}`
      : `recommendedStrategy ${recommendedStrategy}: default for ${errorType}`,
  );

  return {
    errorType,
    severity,
    retryable,
    recommendedStrategy,
    pattern: pattern ? { id: pattern.id, name: pattern.name, priority: pattern.priority } : null,
    reasons,
    message: failure.message,
    code: failure.code ?? null,
    httpStatus: failure.httpStatus ?? null,
    retryAfterMs: failure.retryAfterMs ?? null,
  };
}
