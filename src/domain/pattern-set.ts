// Error patterns compiled once into RE2 sets (one, unless heavy patterns
// outgrow the memory RE2 allows one set), so classifying a message is one
// linear-time pass over all patterns instead of one regex per pattern.
import RE2 from 're2';
import { canonical, ERROR_TYPES, SEVERITIES, STRATEGIES, type ErrorType, type Severity, type Strategy } from './statuses.js';

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

const MATCH_ON = ['message', 'code', 'any'] as const;

/**
 * The row with its enum fields swapped for the source's own string constants.
 * A string read from the database becomes a "thin" string once V8 uses it as
 * a property key, and V8 then builds every text concatenated from it as
 * two-byte: measuring and writing the analyze response cost about 4 % of a
 * request more (bench/README.md, "Error analysis").
 */
export function withCanonicalNames(p: ErrorPatternDefinition): ErrorPatternDefinition {
  return {
    ...p,
    matchOn: canonical(MATCH_ON, p.matchOn),
    errorType: p.errorType == null ? p.errorType : canonical(ERROR_TYPES, p.errorType),
    severity: p.severity == null ? p.severity : canonical(SEVERITIES, p.severity),
    recommendedStrategy: p.recommendedStrategy == null ? p.recommendedStrategy : canonical(STRATEGIES, p.recommendedStrategy),
  };
}

/** Longest message text patterns look at, in characters. */
export const PATTERN_INPUT_LIMIT = 64 * 1024;

export interface PatternSet {
  /** The enabled pattern with the highest priority matching the message or code, if any. */
  firstMatch(message: string, code: string | undefined): ErrorPatternDefinition | undefined;
  readonly size: number;
}

type CompiledSet = ReturnType<typeof RE2.Set>;

/** A compiled set and the index, in its pattern list, of its first pattern. */
interface Chunk {
  set: CompiledSet;
  offset: number;
}

/**
 * Compiles `patterns` into as few RE2 sets as RE2's memory budget allows:
 * one set normally; when heavy patterns make one set too large, it is split
 * in halves until each part compiles (every pattern compiles alone: the
 * registry checks each first). A pattern that cannot be compiled even alone
 * is left out. Chunks keep the list's order.
 */
function compileChunks(patterns: ErrorPatternDefinition[], offset = 0): Chunk[] {
  if (patterns.length === 0) return [];
  try {
    return [{ set: new RE2.Set(patterns.map((p) => p.regex)), offset }];
  } catch {
    if (patterns.length === 1) return [];
    const half = Math.ceil(patterns.length / 2);
    return [...compileChunks(patterns.slice(0, half), offset), ...compileChunks(patterns.slice(half), offset + half)];
  }
}

/**
 * Index of the first pattern (in list order) any chunk matches in `text`, if
 * any. The text is encoded to UTF-8 once: RE2 would encode a string again for
 * every set, and the encoding cost more than the match (see bench/README.md).
 */
function firstIndex(chunks: Chunk[], text: string): number | undefined {
  if (chunks.length === 0) return undefined;
  const utf8 = Buffer.from(text, 'utf8');
  for (const { set, offset } of chunks) {
    const hits = set.match(utf8);
    // Indices follow the priority order, so the smallest index wins, and an earlier chunk beats a later one.
    if (hits.length > 0) return offset + Math.min(...hits);
  }
  return undefined;
}

/** Higher priority first; ties broken by id so the choice is stable. */
function byPriority(a: ErrorPatternDefinition, b: ErrorPatternDefinition): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function compilePatternSet(all: ErrorPatternDefinition[]): PatternSet & { readonly sets: number } {
  const enabled = all.filter((p) => p.enabled).sort(byPriority);
  const onMessage = enabled.filter((p) => p.matchOn !== 'code');
  const onCode = enabled.filter((p) => p.matchOn !== 'message');
  const messageChunks = compileChunks(onMessage);
  const codeChunks = compileChunks(onCode);
  return {
    size: enabled.length,
    sets: messageChunks.length + codeChunks.length,
    firstMatch(message, code) {
      let best: ErrorPatternDefinition | undefined;
      const consider = (candidate: ErrorPatternDefinition | undefined) => {
        if (candidate && (!best || byPriority(candidate, best) < 0)) best = candidate;
      };
      const onMessageHit = firstIndex(messageChunks, message.length > PATTERN_INPUT_LIMIT ? message.slice(0, PATTERN_INPUT_LIMIT) : message);
      if (onMessageHit !== undefined) consider(onMessage[onMessageHit]);
      if (code) {
        const onCodeHit = firstIndex(codeChunks, code.slice(0, 1024));
        if (onCodeHit !== undefined) consider(onCode[onCodeHit]);
      }
      return best;
    },
  };
}

export const EMPTY_PATTERN_SET: PatternSet = compilePatternSet([]);
