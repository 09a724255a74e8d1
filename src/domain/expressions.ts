// JSONata expressions: any string of the exact form `{% ... %}` inside a step
// definition. Compiled at submission (syntax errors are the client's), and
// evaluated when a step starts under hard limits: time, stack depth, sequence
// length and result size. Regex literals run on RE2 (linear time).
import jsonata from 'jsonata';
import RE2 from 're2';
import { MAX_JSON_DEPTH, nestedDeeperThan, storableJson } from './json-text.js';

const EXPRESSION = /^\{%([\s\S]*)%\}$/;

export interface ExpressionLimits {
  /** Wall time one expression may run, in milliseconds. Defaults to 100 ms. */
  timeoutMs: number;
  /** Maximum evaluation depth. Defaults to 300. */
  stackDepth: number;
  /** Maximum length of any sequence built during evaluation. Defaults to 100,000. */
  sequenceLength: number;
  /** Maximum size of a rendered value as JSON, in bytes. Defaults to 1 MiB. */
  resultBytes: number;
}

export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = {
  timeoutMs: 100,
  stackDepth: 300,
  sequenceLength: 100_000,
  resultBytes: 1024 * 1024,
};

/** Variables an expression can see: `$input`, `$steps`, `$flow`, `$step`, `$error`. */
export interface ExpressionBindings {
  input: unknown;
  steps: Record<string, { output: unknown }>;
  flow: { id: string; name: string; labels: Record<string, string> };
  step: { id: string; attempt: number };
  error?: unknown;
}

export class ExpressionError extends Error {
  constructor(
    /** Where the expression sits, e.g. `request.body.amount`. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function expressionBody(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return EXPRESSION.exec(value)?.[1];
}

type Compiled = ReturnType<typeof jsonata>;
const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 5000;

function jsonataMessage(error: unknown): string {
  const e = error as { message?: string; code?: string; position?: number };
  const where = typeof e.position === 'number' ? ` at position ${e.position}` : '';
  return `${e.code ? `${e.code}: ` : ''}${e.message ?? String(error)}${where}`;
}

/**
 * The first regex literal of a parsed expression that RE2 cannot run, as
 * `/source/: reason`. JSONata parses regex literals with the JavaScript
 * engine and builds them with RE2 only when they run, so a lookbehind would
 * otherwise pass submission and fail every attempt.
 */
function refusedRegex(node: unknown, seen = new Set<object>()): string | undefined {
  if (node === null || typeof node !== 'object' || seen.has(node)) return undefined;
  seen.add(node);
  const n = node as { type?: unknown; value?: unknown };
  if (n.type === 'regex' && n.value instanceof RegExp) {
    try {
      new RE2(n.value);
    } catch (error) {
      return `/${n.value.source}/: ${(error as Error).message}`;
    }
    return undefined;
  }
  for (const child of Object.values(node)) {
    const found = refusedRegex(child, seen);
    if (found) return found;
  }
  return undefined;
}

/** Compiles (and caches) an expression body; throws ExpressionError on a syntax error or a regex RE2 cannot run. */
export function compileExpression(body: string, path = '', limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS): Compiled {
  const key = `${limits.timeoutMs}:${limits.stackDepth}:${limits.sequenceLength}:${body}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let compiled: Compiled;
  try {
    compiled = jsonata(body, {
      timeout: limits.timeoutMs,
      stack: limits.stackDepth,
      sequence: limits.sequenceLength,
      RegexEngine: RE2 as unknown as RegExpConstructor,
    });
  } catch (error) {
    throw new ExpressionError(path, `invalid expression: ${jsonataMessage(error)}`);
  }
  const refused = refusedRegex(compiled.ast());
  if (refused) throw new ExpressionError(path, `invalid expression: regex ${refused}`);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}

/**
 * Every expression inside `value`, with its path relative to `basePath`. A
 * path is only formatted for an expression found: plans are walked at every
 * submission, and most of their values hold none.
 */
export function findExpressions(value: unknown, basePath: string): { path: string; body: string }[] {
  const found: { path: string; body: string }[] = [];
  /** Keys (object members) and indexes (array items) from `value` down to the node walked. */
  const trail: (string | number)[] = [];
  const walk = (node: unknown): void => {
    const body = expressionBody(node);
    if (body !== undefined) {
      found.push({ path: basePath + trail.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join(''), body });
      return;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        trail.push(i);
        walk(node[i]);
        trail.pop();
      }
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        trail.push(key);
        walk((node as Record<string, unknown>)[key]);
        trail.pop();
      }
    }
  };
  walk(value);
  return found;
}

/** Whether any expression is inside `value` (every attempt asks, before rendering its action). */
export function containsExpression(value: unknown): boolean {
  if (typeof value === 'string') return EXPRESSION.test(value);
  if (Array.isArray(value)) {
    for (const item of value) if (containsExpression(item)) return true;
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) if (containsExpression((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function toBindings(b: ExpressionBindings): Record<string, unknown> {
  // $error is bound only inside recovery rules, so JSONata's own $error() stays callable elsewhere.
  return { input: b.input, steps: b.steps, flow: b.flow, step: b.step, ...(b.error !== undefined ? { error: b.error } : {}) };
}

async function evaluateOne(body: string, path: string, bindings: Record<string, unknown>, limits: ExpressionLimits): Promise<unknown> {
  const compiled = compileExpression(body, path, limits);
  try {
    return await compiled.evaluate(bindings.input ?? null, bindings);
  } catch (error) {
    throw new ExpressionError(path, `expression failed: ${jsonataMessage(error)}`);
  }
}

async function renderValue(value: unknown, path: string, bindings: Record<string, unknown>, limits: ExpressionLimits): Promise<unknown> {
  const body = expressionBody(value);
  if (body !== undefined) return evaluateOne(body, path, bindings, limits);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, item] of value.entries()) out.push(await renderValue(item, `${path}[${i}]`, bindings, limits));
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = await renderValue(item, path ? `${path}.${key}` : key, bindings, limits);
    return out;
  }
  return value;
}

/**
 * Replaces every expression in `value` by its result. The result is plain JSON
 * (JSONata sequences and undefined values normalised) of bounded size.
 */
export async function renderTemplate<T>(
  value: T,
  bindings: ExpressionBindings,
  path = '',
  limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS,
): Promise<T> {
  if (!containsExpression(value)) return value;
  const rendered = await renderValue(value, path, toBindings(bindings), limits);
  let json: string;
  try {
    json = JSON.stringify(rendered ?? null);
  } catch (error) {
    // A function's environment is circular; a deep enough structure exhausts the stack.
    throw new ExpressionError(path, `expression results are not JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (Buffer.byteLength(json) > limits.resultBytes) {
    throw new ExpressionError(path, `expression results exceed ${limits.resultBytes} bytes`);
  }
  if (nestedDeeperThan(json, MAX_JSON_DEPTH)) {
    throw new ExpressionError(path, `expression results are nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  // Results are stored (outputs, patched definitions): text Postgres cannot hold becomes U+FFFD.
  return JSON.parse(storableJson(json)) as T;
}
