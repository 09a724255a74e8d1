// When repeated errors escalate: more than FREQUENCY_THRESHOLD occurrences of
// one pattern in the window raise the severity one level (never above
// critical; fatal stays fatal) and ask for escalation.
import type { Severity } from './statuses.js';

export const FREQUENCY_THRESHOLD = 5;

export function raiseSeverity(s: Severity): Severity {
  switch (s) {
    case 'low':
      return 'medium';
    case 'medium':
      return 'high';
    case 'high':
    case 'critical':
      return 'critical';
    case 'fatal':
      return 'fatal';
  }
}

export function frequencyEscalation(patternOccurrences: number, severity: Severity): { escalate: boolean; severity: Severity; reason?: string } {
  if (patternOccurrences <= FREQUENCY_THRESHOLD) return { escalate: false, severity };
  const raised = raiseSeverity(severity);
  return {
    escalate: true,
    severity: raised,
    reason: `escalate: ${patternOccurrences} occurrences of this pattern in the window (more than ${FREQUENCY_THRESHOLD}); severity ${severity} -> ${raised}`,
  };
}
