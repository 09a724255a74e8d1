// Error patterns compiled once into RE2 sets, so classifying a message is one
// linear-time pass over all patterns instead of one regex per pattern.
import RE2 from 're2';
import type { ErrorType, Severity, Strategy } from './statuses.js';

export interface ErrorPatternDefinition {
  id: string;
  name: string;
  regex: string;
  matchOn: 'message' | 'code' | 'any';
  errorType?: ErrorType | null;
  severity?: Severity | null;
  retryable?: boolean | null;
  recommendedStrategy?: Strategy | null;
  priority: number;
  enabled: boolean;
}

/** Longest message text patterns look at, in characters. */
export const PATTERN_INPUT_LIMIT = 64 * 1024;

export interface PatternSet {
  /** The enabled pattern with the highest priority matching the message or code, if any. */
  firstMatch(message: string, code: string | undefined): ErrorPatternDefinition | undefined;
  readonly size: number;
}

type CompiledSet = ReturnType<typeof RE2.Set>;

function compileSet(patterns: ErrorPatternDefinition[]): CompiledSet | undefined {
  return patterns.length === 0 ? undefined : new RE2.Set(patterns.map((p) => p.regex));
}

/** Higher priority first; ties broken by id so the choice is stable. */
function byPriority(a: ErrorPatternDefinition, b: ErrorPatternDefinition): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function compilePatternSet(all: ErrorPatternDefinition[]): PatternSet {
  const enabled = all.filter((p) => p.enabled).sort(byPriority);
  const onMessage = enabled.filter((p) => p.matchOn !== 'code');
  const onCode = enabled.filter((p) => p.matchOn !== 'message');
  const messageSet = compileSet(onMessage);
  const codeSet = compileSet(onCode);
  return {
    size: enabled.length,
    firstMatch(message, code) {
      let best: ErrorPatternDefinition | undefined;
      const consider = (candidate: ErrorPatternDefinition | undefined) => {
        if (candidate && (!best || byPriority(candidate, best) < 0)) best = candidate;
      };
      if (messageSet) {
        const hits = messageSet.match(message.length > PATTERN_INPUT_LIMIT ? message.slice(0, PATTERN_INPUT_LIMIT) : message);
        // Indices follow the priority order, so the smallest index wins.
        if (hits.length > 0) consider(onMessage[Math.min(...hits)]);
      }
      if (codeSet && code) {
        const hits = codeSet.match(code.slice(0, 1024));
        if (hits.length > 0) consider(onCode[Math.min(...hits)]);
      }
      return best;
    },
  };
}

export const EMPTY_PATTERN_SET: PatternSet = compilePatternSet([]);
