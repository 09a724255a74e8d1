// POST /v1/errors/analyze: the shared classifier plus frequency escalation.
import { classify } from '../../domain/classifier.js';
import { frequencyEscalation } from '../../domain/frequency-escalation.js';
import type { ErrorType } from '../../domain/statuses.js';
import type { ErrorFrequency } from '../../store/error-frequency.js';
import type { PatternRegistry } from '../../store/pattern-registry.js';
import { HttpProblem } from '../problems.js';
import { MAX_MESSAGE_CHARS } from './schemas.js';

export interface ErrorReport {
  message: string;
  code?: string | undefined;
  httpStatus?: number | undefined;
  errorType?: ErrorType | undefined;
  component?: string | undefined;
}

export function createAnalyzeService({
  registry,
  frequency,
  onClassified,
}: {
  registry: PatternRegistry;
  frequency: ErrorFrequency;
  /** Observes each classification (the errors_classified_total counter). */
  onClassified?: (errorType: string, severity: string) => void;
}) {
  return {
    analyze(report: ErrorReport) {
      if (report.message.length > MAX_MESSAGE_CHARS) {
        throw new HttpProblem(413, 'payload-too-large', 'Payload too large', `message is ${report.message.length} characters; at most ${MAX_MESSAGE_CHARS}`);
      }
      const c = classify(
        {
          source: report.httpStatus !== undefined ? 'http' : 'report',
          message: report.message,
          code: report.code,
          httpStatus: report.httpStatus,
          hintType: report.errorType,
        },
        registry.current(),
      );
      const occurrences = frequency.record(c.pattern?.id ?? null, report.component ?? null);
      const escalation = frequencyEscalation(occurrences.pattern, c.severity);
      onClassified?.(c.errorType, escalation.severity);
      return {
        errorType: c.errorType,
        severity: escalation.severity,
        retryable: c.retryable,
        recommendedStrategy: c.recommendedStrategy,
        pattern: c.pattern,
        occurrences,
        escalate: escalation.escalate,
        reasons: escalation.reason ? [...c.reasons, escalation.reason] : c.reasons,
      };
    },
  };
}

export type AnalyzeService = ReturnType<typeof createAnalyzeService>;
