// Route bodies and the executor's action check are validated by z.compile'd
// schemas (api/compiled-validator.ts, plan-validation.ts). Compiled code
// must accept exactly what the schema accepts, with the same output, and
// leave every rejection to the schema itself: checked here on a plan using
// every field, and on every mutation of it (each value replaced by values of
// other types, out of range or unsafe; each key removed; an unknown key added).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { planSchema, runnableActionSchema } from '../../src/domain/plan-schema.js';
import { definitionProblem } from '../../src/domain/plan-validation.js';

const request = { method: 'POST', url: 'https://api.example.com/charge', headers: { 'x-tenant': 'acme' }, body: { amount: 5, tags: ['a', null] }, successStatuses: [200, 201] };
const when = { errorTypes: ['timeout'], patternIds: ['p1'], messageMatches: 'busy', httpStatuses: [503] };
const retry = { maxAttempts: 3, backoff: 'exponential', baseDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 'none', retryOn: ['timeout'], respectRetryAfter: true };

const richPlan = {
  name: 'rich',
  mode: 'conditional',
  input: { orderId: 'o-1', items: [{ sku: 'x', qty: 2 }] },
  labels: { team: 'payments' },
  deadlineMs: 60_000,
  defaults: { critical: true, timeoutMs: 5000, retry },
  notify: { url: 'https://hooks.example.com/rebound', events: ['flow.completed'] },
  steps: [
    {
      id: 'charge',
      kind: 'http',
      request,
      retry,
      timeoutMs: 2000,
      circuitBreaker: 'payments',
      corrections: [{ when, patch: { 'request.body.amount': 4 }, maxTimes: 2 }],
      fallbacks: [{ id: 'backup', kind: 'http', request, when, retry, timeoutMs: 1000 }],
      degradations: [{ id: 'cached', when, quality: 0.5, patch: { 'request.url': 'https://cache.example.com' } }, { id: 'skip', kind: 'noop', quality: 0.2, output: null }],
      escalation: { enabled: true, timeoutMs: 60_000, onTimeout: 'skip', message: 'help' },
      compensate: { kind: 'http', request, timeoutMs: 1000 },
      maxRecoveryTimeMs: 10_000,
    },
    { id: 'work', kind: 'task', task: { type: 'pack.box', input: { n: 1 } }, dependsOn: ['charge'] },
    { id: 'wait', kind: 'delay', delayMs: 10, dependsOn: ['work'] },
    { id: 'ok', kind: 'approval', dependsOn: ['wait'], critical: false },
    { id: 'done', kind: 'noop', output: { ok: true }, dependsOn: ['ok'] },
  ],
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const REPLACEMENTS: Json[] = [null, true, 0, -1, 1.5, 2 ** 60, 1e308, '', 'x', 'x'.repeat(5000), [], [1], {}, { unknown: 1 }];

/** Every value obtained by one change somewhere in `value`. */
function* mutations(value: Json): Generator<Json> {
  for (const r of REPLACEMENTS) yield r;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      yield value.filter((_, j) => j !== i);
      for (const m of mutations(value[i]!)) yield value.map((v, j) => (j === i ? m : v));
    }
  } else if (value && typeof value === 'object') {
    yield { ...value, unexpected: 1 };
    for (const key of Object.keys(value)) {
      const { [key]: _removed, ...rest } = value;
      yield rest;
      for (const m of mutations(value[key]!)) yield { ...value, [key]: m };
    }
  }
}

/** The schema's own answer and the compiled one must agree entirely. */
function expectSameAnswer(schema: z.ZodType, compiled: z.ZodType, input: unknown): boolean {
  const runtime = schema.safeParse(input);
  const fast = compiled.safeParse(input);
  expect(fast.success).toBe(runtime.success);
  if (runtime.success) expect(fast.data).toEqual(runtime.data);
  else expect(fast.error!.issues).toEqual(runtime.error.issues);
  return runtime.success;
}

describe('compiled schemas', () => {
  it('compiles the plan schema and the runnable action schema (no runtime fallback)', () => {
    expect(() => z.compile(planSchema, { strict: true })).not.toThrow();
    expect(() => z.compile(runnableActionSchema, { strict: true })).not.toThrow();
  });

  it('accepts, rejects and reports exactly as the plan schema does, for a plan using every field and each mutation of it', () => {
    const compiled = z.compile(planSchema);
    expect(expectSameAnswer(planSchema, compiled, richPlan)).toBe(true);
    let accepted = 0;
    let rejected = 0;
    for (const mutated of mutations(richPlan as unknown as Json)) {
      if (expectSameAnswer(planSchema, compiled, mutated)) accepted++;
      else rejected++;
    }
    // Both outcomes are well represented, so the comparison means something.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('checks actions about to run exactly as the runnable action schema does', () => {
    const compiled = z.compile(runnableActionSchema);
    const action = { kind: 'http', request, timeoutMs: 1000, retry, circuitBreaker: 'payments', id: 'backup', quality: 0.5 };
    for (const mutated of mutations(action as unknown as Json)) expectSameAnswer(runnableActionSchema, compiled, mutated);
    expect(definitionProblem({ ...action, timeoutMs: 0 })).toBe('timeoutMs: Too small: expected number to be >=1');
    expect(definitionProblem({ ...action, request: { ...request, url: 'file:///etc/passwd' } })).toMatch(/^request\.url: /);
    expect(definitionProblem(action)).toBeUndefined();
  });
});
