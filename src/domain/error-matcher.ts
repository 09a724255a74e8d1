// `when` matchers of corrections, fallbacks and degradations: every given
// field must match the classified error. messageMatches runs on RE2.
import RE2 from 're2';
import type { Classification } from './classifier.js';
import type { When } from './plan-schema.js';

const compiled = new Map<string, RE2 | null>();

/** The compiled regex, or null when RE2 rejects it (plans are validated; this guards stored data). */
function regex(source: string): RE2 | null {
  if (compiled.has(source)) return compiled.get(source)!;
  let re: RE2 | null;
  try {
    re = new RE2(source);
  } catch {
    re = null;
  }
  if (compiled.size > 2000) compiled.clear();
  compiled.set(source, re);
  return re;
}

export function matchesWhen(when: When | undefined, error: Classification): boolean {
  if (!when) return true;
  if (when.errorTypes && !when.errorTypes.includes(error.errorType)) return false;
  if (when.patternIds && (!error.pattern || !when.patternIds.includes(error.pattern.id))) return false;
  if (when.httpStatuses && (error.httpStatus === null || !when.httpStatuses.includes(error.httpStatus))) return false;
  if (when.messageMatches !== undefined && !regex(when.messageMatches)?.test(error.message)) return false;
  return true;
}
