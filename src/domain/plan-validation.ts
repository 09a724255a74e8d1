// Semantic checks of a schema-valid plan (422 when any fails): unique ids,
// known dependencies, no cycles, valid URLs and headers, expressions that
// compile, RE2 regexes, sane patch paths and patched steps that can still
// run. Each issue carries the JSON path of the culprit. definitionProblem
// applies the same checks to an action about to run (after its patches and
// expressions), or to one an escalation answer would store.
import RE2 from 're2';
import { z } from 'zod';
import { findCycle, resolveDependencies } from './dependency-graph.js';
import { ExpressionError, compileExpression, containsExpression, expressionBody, findExpressions } from './expressions.js';
import { applyPatch } from './patch.js';
import { urlParts } from './url-parts.js';
import { DEFAULT_TIMEOUT_MS } from './plan.js';
import { runnableActionSchema, type Plan, type When } from './plan-schema.js';

export interface PlanIssue {
  path: string;
  message: string;
}

/** runnableActionSchema compiled once (z.compile): every attempt checks its action. Errors are the schema's own. */
const compiledRunnableAction = z.compile(runnableActionSchema);

const PATCH_PATH = /^(request|task|delayMs|output|timeoutMs)(\.[A-Za-z0-9_-]{1,128}){0,16}$/;

/** What submission may know about a URL's target: literal hosts (IPs, localhost) the address policy refuses. */
export interface ValidationContext {
  literalRefusal?: (hostname: string) => string | undefined;
}

/** A literal http(s) URL, or an expression evaluated at run time. */
export function checkUrl(url: string, ctx: ValidationContext = {}): string | undefined {
  if (expressionBody(url) !== undefined) return undefined;
  const parsed = urlParts(url);
  if (!parsed) return `"${url.slice(0, 200)}" is not a valid URL`;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `only http and https URLs are allowed, got ${parsed.protocol}`;
  if (parsed.hasCredentials) return 'URLs must not carry credentials; use a header';
  // DNS names end at 253 characters; a longer one could never resolve (and would make an unmanageable breaker key).
  if (parsed.hostname.length > 253) return 'the host name is longer than 253 characters';
  return ctx.literalRefusal?.(parsed.hostname);
}

/** Headers the HTTP client sets itself or cannot send (undici refuses them): a plan may not set them. */
const RESERVED_HEADERS = new Set(['connection', 'content-length', 'expect', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** The first header of a request a plan may not set, as a problem. */
function reservedHeader(headers: Record<string, unknown> | undefined): string | undefined {
  const name = Object.keys(headers ?? {}).find((h) => RESERVED_HEADERS.has(h.toLowerCase()));
  return name === undefined ? undefined : `the HTTP client sets ${name} itself; a plan may not (${[...RESERVED_HEADERS].join(', ')})`;
}

export function checkRegex(source: string): string | undefined {
  try {
    new RE2(source);
    return undefined;
  } catch (error) {
    return `RE2 cannot compile this regex: ${(error as Error).message}`;
  }
}

/**
 * What is wrong with an action about to run or be stored after a patch (its
 * fields' types and limits, and a literal URL's scheme), as `path: problem`;
 * undefined when it can run. Patches and expressions may write any JSON, so
 * the plan's schema alone does not keep the executor's inputs sane.
 */
export function definitionProblem(action: unknown): string | undefined {
  const parsed = compiledRunnableAction.safeParse(action);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${issue.path.length > 0 ? issue.path.join('.') : 'definition'}: ${issue.message}`;
  }
  if (parsed.data.kind !== 'http') return undefined;
  const urlProblem = checkUrl(parsed.data.request.url);
  if (urlProblem) return `request.url: ${urlProblem}`;
  const headerProblem = reservedHeader(parsed.data.request.headers);
  return headerProblem ? `request.headers: ${headerProblem}` : undefined;
}

/** The patch's entries that are literal values (expressions are only known when they run). */
export function literalPatchEntries(patch: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => !containsExpression(value)));
}

function checkWhen(when: When | undefined, path: string, issues: PlanIssue[]): void {
  if (when?.messageMatches === undefined) return;
  const problem = checkRegex(when.messageMatches);
  if (problem) issues.push({ path: `${path}.when.messageMatches`, message: problem });
}

function checkPatch(patch: Record<string, unknown>, path: string, issues: PlanIssue[]): void {
  for (const key of Object.keys(patch)) {
    if (!PATCH_PATH.test(key)) {
      issues.push({ path: `${path}.patch["${key}"]`, message: 'patch keys are dotted paths under request, task, delayMs, output or timeoutMs' });
    }
  }
}

function checkExpressions(value: unknown, path: string, issues: PlanIssue[]): void {
  for (const found of findExpressions(value, path)) {
    try {
      compileExpression(found.body, found.path);
    } catch (error) {
      issues.push({ path: found.path, message: error instanceof ExpressionError ? error.message : String(error) });
    }
  }
}

/** Request/url checks shared by steps, alternatives and compensations. */
function checkAction(def: { kind: string; request?: { url: string; headers?: Record<string, string> | undefined } }, path: string, issues: PlanIssue[], ctx: ValidationContext): void {
  if (def.kind === 'http' && def.request) {
    const problem = checkUrl(def.request.url, ctx);
    if (problem) issues.push({ path: `${path}.request.url`, message: problem });
    const header = reservedHeader(def.request.headers);
    if (header) issues.push({ path: `${path}.request.headers`, message: header });
  }
}

type RecoveryFields = Pick<Plan['steps'][number], 'fallbacks' | 'degradations' | 'corrections'>;

/** A patch's literal values applied to the action they change must leave it runnable. */
function checkPatchedAction(base: object | undefined, patch: Record<string, unknown>, path: string, issues: PlanIssue[]): void {
  if (!base) return;
  const problem = definitionProblem(applyPatch(base, literalPatchEntries(patch)));
  if (problem) issues.push({ path: `${path}.patch`, message: `the patched step would not run: ${problem}` });
}

/** Fallbacks, degradations and corrections: ids, matchers, patches, URLs. `base`: the action patches change (absent for defaults). */
function checkRecovery(step: RecoveryFields, path: string, issues: PlanIssue[], ctx: ValidationContext, base?: object): void {
  const altIds = new Set<string>();
  const alternatives = [...(step.fallbacks ?? []).map((f, i) => ({ alt: f, path: `${path}.fallbacks[${i}]` })), ...(step.degradations ?? []).map((d, i) => ({ alt: d, path: `${path}.degradations[${i}]` }))];
  for (const { alt, path: altPath } of alternatives) {
    if (altIds.has(alt.id) || alt.id === 'compensate') {
      issues.push({ path: `${altPath}.id`, message: `alternative id "${alt.id}" is used twice in this step (or is reserved)` });
    }
    altIds.add(alt.id);
    checkWhen(alt.when, altPath, issues);
    if ('patch' in alt) {
      checkPatch(alt.patch, altPath, issues);
      checkPatchedAction(base, alt.patch, altPath, issues);
    } else checkAction(alt, altPath, issues, ctx);
  }
  for (const [i, correction] of (step.corrections ?? []).entries()) {
    checkWhen(correction.when, `${path}.corrections[${i}]`, issues);
    checkPatch(correction.patch, `${path}.corrections[${i}]`, issues);
    checkPatchedAction(base, correction.patch, `${path}.corrections[${i}]`, issues);
  }
}

/** The fields of a step a patch may change, as the executor holds them (timeout resolved). */
function patchableAction(step: Plan['steps'][number], defaults: Plan['defaults']): object {
  const { kind } = step;
  const fields = kind === 'http' ? { request: step.request } : kind === 'task' ? { task: step.task } : kind === 'delay' ? { delayMs: step.delayMs } : kind === 'noop' ? { output: step.output } : {};
  return { kind, ...fields, timeoutMs: step.timeoutMs ?? defaults?.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

function checkStep(step: Plan['steps'][number], path: string, issues: PlanIssue[], ctx: ValidationContext, defaults: Plan['defaults']): void {
  checkAction(step, path, issues, ctx);
  checkExpressions(step, path, issues);
  checkRecovery(step, path, issues, ctx, patchableAction(step, defaults));
  if (step.compensate) checkAction(step.compensate, `${path}.compensate`, issues, ctx);
}

/** Every semantic problem of the plan; empty when it can run. */
export function validatePlan(plan: Plan, ctx: ValidationContext = {}): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const seen = new Map<string, number>();
  for (const [i, step] of plan.steps.entries()) {
    if (seen.has(step.id)) issues.push({ path: `$.steps[${i}].id`, message: `duplicate step id "${step.id}" (also $.steps[${seen.get(step.id)}])` });
    else seen.set(step.id, i);
  }
  for (const [i, step] of plan.steps.entries()) {
    const listed = new Set<string>();
    for (const [j, dep] of (step.dependsOn ?? []).entries()) {
      if (!seen.has(dep)) issues.push({ path: `$.steps[${i}].dependsOn[${j}]`, message: `unknown step "${dep}"` });
      else if (dep === step.id) issues.push({ path: `$.steps[${i}].dependsOn[${j}]`, message: 'a step cannot depend on itself' });
      // A repeat would count as a second dependency that only one success ever settles.
      else if (listed.has(dep)) issues.push({ path: `$.steps[${i}].dependsOn[${j}]`, message: `"${dep}" is listed twice` });
      listed.add(dep);
    }
    checkStep(step, `$.steps[${i}]`, issues, ctx, plan.defaults);
  }
  if (issues.length === 0) {
    const cycle = findCycle(resolveDependencies(plan.steps));
    if (cycle) {
      issues.push({ path: `$.steps[${seen.get(cycle[0]!)}].dependsOn`, message: `dependency cycle: ${cycle.join(' -> ')}` });
    }
  }
  if (plan.defaults) {
    checkExpressions(plan.defaults, '$.defaults', issues);
    checkRecovery(plan.defaults, '$.defaults', issues, ctx);
  }
  if (plan.notify) {
    const problem = checkUrl(plan.notify.url, ctx);
    if (problem || expressionBody(plan.notify.url) !== undefined) {
      issues.push({ path: '$.notify.url', message: problem ?? 'notify.url must be a literal URL' });
    }
  }
  return issues;
}
