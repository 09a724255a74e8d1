import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS, normalizePlan } from '../../src/domain/plan.js';
import { planSchema, type Plan } from '../../src/domain/plan-schema.js';
import { definitionProblem, validatePlan, type PlanIssue } from '../../src/domain/plan-validation.js';

const URL_A = 'https://api.example/a';
const http = (id: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'http', request: { method: 'POST', url: URL_A }, ...extra });
const noop = (id: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'noop', ...extra });

function parse(body: Record<string, unknown>): Plan {
  const result = planSchema.safeParse({ name: 'p', ...body });
  if (!result.success) throw new Error(`schema rejected the plan: ${JSON.stringify(result.error.issues)}`);
  return result.data;
}

const issuesOf = (body: Record<string, unknown>): PlanIssue[] => validatePlan(parse(body));

function schemaIssues(body: Record<string, unknown>) {
  const result = planSchema.safeParse({ name: 'p', ...body });
  expect(result.success).toBe(false);
  return result.error!.issues;
}

describe('planSchema', () => {
  it('accepts the minimal plan and defaults mode to strict', () => {
    expect(parse({ steps: [noop('a')] }).mode).toBe('strict');
  });

  it('rejects unknown fields at the top, in steps and in nested objects', () => {
    expect(schemaIssues({ steps: [noop('a')], extra: 1 })[0]!.code).toBe('unrecognized_keys');
    expect(schemaIssues({ steps: [noop('a', { bogus: true })] })[0]!.path).toEqual(['steps', 0]);
    const nested = schemaIssues({ steps: [http('a', { retry: { maxAttempts: 2, tries: 3 } })] });
    expect(nested[0]!.path).toEqual(['steps', 0, 'retry']);
  });

  it('allows 200 steps and rejects 201', () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => noop(`s${i}`));
    expect(planSchema.safeParse({ name: 'p', steps: steps(200) }).success).toBe(true);
    const issues = schemaIssues({ steps: steps(201) });
    expect(issues.some((i) => i.path[0] === 'steps' && i.message.includes('200'))).toBe(true);
  });

  it.each(['1abc', '_a', 'a b', 'a.b', '', 'a'.repeat(65)])('rejects step id %j', (id) => {
    expect(schemaIssues({ steps: [noop(id)] }).some((i) => i.path.join('.') === 'steps.0.id')).toBe(true);
  });

  it.each(['a', 'A-1_b', 'a'.repeat(64)])('accepts step id %j', (id) => {
    expect(planSchema.safeParse({ name: 'p', steps: [noop(id)] }).success).toBe(true);
  });

  it('rejects an empty step list and an approval fallback', () => {
    schemaIssues({ steps: [] });
    schemaIssues({ steps: [noop('a', { fallbacks: [{ id: 'f', kind: 'approval' }] })] });
  });
});

describe('validatePlan', () => {
  it('accepts a valid plan', () => {
    expect(issuesOf({ steps: [http('a', { request: { url: URL_A, body: { n: '{% $input.n %}' } } }), noop('b')] })).toEqual([]);
  });

  it('reports duplicate step ids', () => {
    const issues = issuesOf({ steps: [noop('a'), noop('b'), noop('a')] });
    expect(issues).toEqual([{ path: '$.steps[2].id', message: expect.stringContaining('duplicate step id "a"') }]);
  });

  it('reports unknown and self dependencies', () => {
    expect(issuesOf({ steps: [noop('a'), noop('b', { dependsOn: ['a', 'zz'] })] })).toEqual([
      { path: '$.steps[1].dependsOn[1]', message: 'unknown step "zz"' },
    ]);
    expect(issuesOf({ steps: [noop('a', { dependsOn: ['a'] })] })).toEqual([{ path: '$.steps[0].dependsOn[0]', message: 'a step cannot depend on itself' }]);
    expect(issuesOf({ steps: [noop('a'), noop('b', { dependsOn: ['a', 'a'] })] })).toEqual([{ path: '$.steps[1].dependsOn[1]', message: '"a" is listed twice' }]);
  });

  it('reports a two-step cycle with its path', () => {
    const issues = issuesOf({ steps: [noop('a', { dependsOn: ['b'] }), noop('b')] });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('$.steps[0].dependsOn');
    expect(issues[0]!.message).toContain('a -> b -> a');
  });

  it('reports a longer cycle that does not start at the first step', () => {
    const issues = issuesOf({ steps: [noop('x'), noop('a', { dependsOn: ['c'] }), noop('b', { dependsOn: ['a'] }), noop('c', { dependsOn: ['b'] })] });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('$.steps[1].dependsOn');
    expect(issues[0]!.message).toMatch(/a -> b -> c -> a/);
  });

  it.each([
    ['not a url', 'is not a valid URL'],
    ['ftp://files.example/x', 'only http and https'],
    ['file:///etc/passwd', 'only http and https'],
    ['https://user:pw@api.example/', 'credentials'],
    ['https://user@api.example/', 'credentials'],
    [`https://${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.example/`, 'longer than 253'],
  ])('rejects the URL %s', (url, message) => {
    const issues = issuesOf({ steps: [http('a', { request: { url } })] });
    expect(issues).toEqual([{ path: '$.steps[0].request.url', message: expect.stringContaining(message) }]);
  });

  it.each(['Expect', 'content-length', 'Transfer-Encoding', 'connection', 'Keep-Alive', 'upgrade'])('refuses the header %s, which the HTTP client sets itself', (name) => {
    const issues = issuesOf({ steps: [http('a', { request: { url: URL_A, headers: { [name]: 'x' } } })] });
    expect(issues).toEqual([{ path: '$.steps[0].request.headers', message: expect.stringContaining(`sets ${name} itself`) }]);
  });

  it.each(['a\r\nInjected: 1', 'nul\u0000', 'euro €'])('refuses the header value %j (the schema: tabs and visible Latin-1 only)', (value) => {
    expect(schemaIssues({ steps: [http('a', { request: { url: URL_A, headers: { 'x-a': value } } })] })[0]!.message).toContain('visible Latin-1');
  });

  it('checks rendered headers at run time too', () => {
    const base = { kind: 'http', request: { method: 'GET', url: URL_A, headers: { 'x-a': 'café\tok' } }, timeoutMs: 1000 };
    expect(definitionProblem(base)).toBeUndefined();
    expect(definitionProblem({ ...base, request: { ...base.request, headers: { 'x-a': 'a\nb' } } })).toContain('request.headers');
    expect(definitionProblem({ ...base, request: { ...base.request, headers: { expect: '100-continue' } } })).toContain('sets expect itself');
  });

  it('checks URLs of fallbacks, degradations, compensations and notify', () => {
    const bad = { method: 'GET', url: 'gopher://x' };
    const issues = issuesOf({
      notify: { url: 'mailto:a@b.example' },
      steps: [
        http('a', {
          fallbacks: [{ id: 'f', kind: 'http', request: bad }],
          degradations: [{ id: 'd', kind: 'http', quality: 0.5, request: bad }],
          compensate: { kind: 'http', request: bad },
        }),
      ],
    });
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['$.notify.url', '$.steps[0].compensate.request.url', '$.steps[0].degradations[0].request.url', '$.steps[0].fallbacks[0].request.url'].sort(),
    );
  });

  it('allows an expression URL in a step but not in notify', () => {
    expect(issuesOf({ steps: [http('a', { request: { url: '{% $input.url %}' } })] })).toEqual([]);
    expect(issuesOf({ notify: { url: '{% $input.url %}' }, steps: [noop('a')] })).toEqual([{ path: '$.notify.url', message: expect.stringContaining('literal') }]);
  });

  it('reports JSONata syntax errors with the JSON path of the string', () => {
    const issues = issuesOf({ steps: [http('a', { request: { method: 'POST', url: URL_A, body: { amount: '{% $input.amount + %}', ok: '{% 1 %}' } } })] });
    expect(issues).toEqual([{ path: '$.steps[0].request.body.amount', message: expect.stringContaining('invalid expression') }]);
  });

  it('finds syntax errors in arrays, patches and defaults', () => {
    const issues = issuesOf({
      defaults: { corrections: [{ when: {}, patch: { 'request.body.x': '{% ( %}' } }] },
      steps: [noop('a', { output: ['ok', { v: '{% ] %}' }] })],
    });
    expect(issues.map((i) => i.path).sort()).toEqual(['$.defaults.corrections[0].patch.request.body.x', '$.steps[0].output[1].v']);
  });

  it.each(['(a)\\1', '(?=x)', '(?<!y)z', '[unclosed'])('rejects the messageMatches regex %s', (regex) => {
    const issues = issuesOf({ steps: [noop('a', { corrections: [{ when: { messageMatches: regex }, patch: { output: 1 } }] })] });
    expect(issues).toEqual([{ path: '$.steps[0].corrections[0].when.messageMatches', message: expect.stringContaining('RE2') }]);
  });

  it('checks messageMatches of fallbacks, degradations and default fallbacks', () => {
    const when = { messageMatches: '(?=x)' };
    const issues = issuesOf({
      defaults: { fallbacks: [{ id: 'g', kind: 'noop', when }] },
      steps: [noop('a', { fallbacks: [{ id: 'f', kind: 'noop', when }], degradations: [{ id: 'd', quality: 0.5, patch: { output: 1 }, when }] })],
    });
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['$.defaults.fallbacks[0].when.messageMatches', '$.steps[0].degradations[0].when.messageMatches', '$.steps[0].fallbacks[0].when.messageMatches'].sort(),
    );
  });

  it('accepts RE2-compatible messageMatches', () => {
    expect(issuesOf({ steps: [noop('a', { corrections: [{ when: { messageMatches: '(?i)slippage\\s+\\d+' }, patch: { output: 1 } }] })] })).toEqual([]);
  });

  it.each(['body.x', 'request..x', 'request.', 'id', 'retry.maxAttempts', 'request.a b'])('rejects the patch path %j', (key) => {
    const issues = issuesOf({ steps: [noop('a', { corrections: [{ when: {}, patch: { [key]: 1 } }] })] });
    expect(issues).toEqual([{ path: `$.steps[0].corrections[0].patch["${key}"]`, message: expect.stringContaining('dotted paths') }]);
  });

  it('accepts patch paths under request, task, delayMs, output and timeoutMs', () => {
    const patch = { 'request.body.amount': 1, 'task.input.x': 2, delayMs: 3, output: 4, timeoutMs: 5 };
    expect(issuesOf({ steps: [noop('a', { degradations: [{ id: 'd', quality: 1, patch }] })] })).toEqual([]);
  });

  it.each([
    [{ timeoutMs: 'abc' }, 'timeoutMs'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ timeoutMs: 1e300 }, 'timeoutMs'],
    [{ request: null }, 'request'],
    [{ 'request.url': 'file:///etc/passwd' }, 'request.url: only http and https'],
    [{ 'request.method': 'BREW' }, 'request.method'],
    [{ 'request.headers.x-a': 1 }, 'request.headers'],
  ])('refuses a correction or degradation whose literal patch %j leaves the step unable to run', (patch, problem) => {
    const issues = issuesOf({ steps: [http('a', { corrections: [{ when: {}, patch }], degradations: [{ id: 'd', quality: 0.5, patch }] })] });
    expect(issues.map((i) => i.path)).toEqual(['$.steps[0].degradations[0].patch', '$.steps[0].corrections[0].patch']);
    for (const issue of issues) expect(issue.message).toContain(`the patched step would not run: ${problem}`);
  });

  it('checks patched delays and tasks too, and leaves expression values to run time', () => {
    expect(issuesOf({ steps: [noop('w', { kind: 'delay', delayMs: 5, corrections: [{ when: {}, patch: { delayMs: 1e15 } }] })] })[0]!.message).toContain('delayMs');
    expect(issuesOf({ steps: [noop('t', { kind: 'task', task: { type: 'x' }, corrections: [{ when: {}, patch: { 'task.type': 'no spaces allowed' } }] })] })[0]!.message).toContain('task.type');
    expect(issuesOf({ steps: [http('a', { corrections: [{ when: {}, patch: { timeoutMs: '{% $error.code %}', 'request.body.x': 1 } }] })] })).toEqual([]);
  });

  it('definitionProblem: what runs must have its kind\'s fields, in range, and a literal http(s) URL', () => {
    const base = { kind: 'http', request: { method: 'GET', url: URL_A }, timeoutMs: 1000, retry: DEFAULT_RETRY };
    expect(definitionProblem(base)).toBeUndefined();
    expect(definitionProblem({ ...base, id: 'alt', when: {}, quality: 0.5 })).toBeUndefined();
    expect(definitionProblem({ ...base, kind: 'zzz' })).toContain('kind');
    expect(definitionProblem({ ...base, retry: 'x' })).toContain('retry');
    expect(definitionProblem({ ...base, retry: { ...DEFAULT_RETRY, maxAttempts: 1e9 } })).toContain('retry.maxAttempts');
    expect(definitionProblem({ ...base, request: { url: 'http://user:pw@example.com/' } })).toContain('credentials');
    expect(definitionProblem({ kind: 'delay', delayMs: 10, timeoutMs: DEFAULT_TIMEOUT_MS })).toBeUndefined();
    expect(definitionProblem({ kind: 'delay', delayMs: 1.5, timeoutMs: DEFAULT_TIMEOUT_MS })).toContain('delayMs');
    expect(definitionProblem(null)).toBeDefined();
  });

  it('reports duplicate and reserved alternative ids across fallbacks and degradations', () => {
    const issues = issuesOf({
      steps: [
        noop('a', {
          fallbacks: [{ id: 'x', kind: 'noop' }, { id: 'compensate', kind: 'noop' }],
          degradations: [{ id: 'x', quality: 0.5, patch: { output: 1 } }],
        }),
      ],
    });
    expect(issues.map((i) => i.path)).toEqual(['$.steps[0].fallbacks[1].id', '$.steps[0].degradations[0].id']);
    expect(issues[1]!.message).toContain('"x"');
  });

  // normalizePlan copies `defaults` alternatives into every step, so they are
  // checked like a step's own: regexes, patch paths, URLs and unique ids.
  it('checks regexes, patch paths, URLs and ids of default degradations', () => {
    const issues = issuesOf({
      defaults: {
        degradations: [
          { id: 'd', quality: 0.5, when: { messageMatches: '(a)\\1' }, patch: { 'bogus.path': 1 } },
          { id: 'd', kind: 'http', quality: 0.5, request: { url: 'ftp://x.example/' } },
        ],
      },
      steps: [noop('a')],
    });
    expect(issues.length).toBeGreaterThanOrEqual(3);
  });
});

describe('normalizePlan', () => {
  const norm = (body: Record<string, unknown>) => normalizePlan(parse(body));

  it('resolves dependsOn: omitted = previous step, [] = none, explicit kept', () => {
    const plan = norm({ steps: [noop('a'), noop('b'), noop('c', { dependsOn: [] }), noop('d', { dependsOn: ['a', 'b'] }), noop('e')] });
    expect(plan.steps.map((s) => [s.id, s.position, s.dependsOn])).toEqual([
      ['a', 0, []],
      ['b', 1, ['a']],
      ['c', 2, []],
      ['d', 3, ['a', 'b']],
      ['e', 4, ['d']],
    ]);
  });

  it('applies the built-in defaults', () => {
    const [step] = norm({ steps: [http('a')] }).steps;
    expect(step!.primary.retry).toEqual({
      maxAttempts: 3,
      backoff: 'exponential',
      baseDelayMs: 1000,
      maxDelayMs: 10000,
      multiplier: 2,
      jitter: 'full',
      retryOn: undefined,
      respectRetryAfter: true,
    });
    expect(step!.primary.timeoutMs).toBe(10000);
    expect(step!.critical).toBe(true);
    expect(step!).toMatchObject({ corrections: [], fallbacks: [], degradations: [], escalation: null, maxRecoveryTimeMs: null, compensate: null });
  });

  it('merges retry key by key: step over defaults over DEFAULT_RETRY', () => {
    const [step] = norm({
      defaults: { retry: { maxAttempts: 5, baseDelayMs: 7, jitter: 'equal' }, timeoutMs: 1234, critical: false },
      steps: [http('a', { retry: { maxAttempts: 2, backoff: 'linear' } })],
    }).steps;
    expect(step!.primary.retry).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2, backoff: 'linear', baseDelayMs: 7, jitter: 'equal' });
    expect(step!.primary.timeoutMs).toBe(1234);
    expect(step!.critical).toBe(false);
  });

  it('lets step-level timeoutMs and critical win over defaults', () => {
    const [step] = norm({ defaults: { timeoutMs: 1234, critical: false }, steps: [http('a', { timeoutMs: 50, critical: true })] }).steps;
    expect(step!.primary.timeoutMs).toBe(50);
    expect(step!.critical).toBe(true);
  });

  it('gives fallbacks defaults.retry but not the step retry', () => {
    const [step] = norm({
      defaults: { retry: { maxAttempts: 5 } },
      steps: [http('a', { retry: { maxAttempts: 9, baseDelayMs: 1 }, fallbacks: [noop('f'), noop('g', { retry: { multiplier: 3 } })] })],
    }).steps;
    expect(step!.fallbacks.map((f) => f.retry)).toEqual([
      { ...DEFAULT_RETRY, maxAttempts: 5 },
      { ...DEFAULT_RETRY, maxAttempts: 5, multiplier: 3 },
    ]);
  });

  it('uses default corrections/fallbacks only when the step has none, and defaults maxTimes to 1', () => {
    const plan = norm({
      defaults: { corrections: [{ when: {}, patch: { output: 1 } }], fallbacks: [noop('df')] },
      steps: [noop('a'), noop('b', { fallbacks: [noop('own')], corrections: [{ when: {}, patch: { output: 2 }, maxTimes: 3 }] })],
    });
    expect(plan.steps[0]!.fallbacks.map((f) => f.id)).toEqual(['df']);
    expect(plan.steps[0]!.corrections.map((c) => c.maxTimes)).toEqual([1]);
    expect(plan.steps[1]!.fallbacks.map((f) => f.id)).toEqual(['own']);
    expect(plan.steps[1]!.corrections.map((c) => c.maxTimes)).toEqual([3]);
  });

  it('keeps patch degradations as patches and completes full-definition ones', () => {
    const [step] = norm({ steps: [noop('a', { degradations: [{ id: 'p', quality: 0.5, patch: { output: 1 } }, noop('q', { quality: 0.25 })] })] }).steps;
    expect(step!.degradations[0]).toEqual({ id: 'p', quality: 0.5, patch: { output: 1 } });
    expect(step!.degradations[1]).toMatchObject({ id: 'q', kind: 'noop', quality: 0.25, timeoutMs: DEFAULT_TIMEOUT_MS, retry: DEFAULT_RETRY });
  });
});
