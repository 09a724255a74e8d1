// The Zod schema of a flow plan (POST /v1/flows). Shape and size limits only:
// semantic checks (dependencies, cycles, URLs, expressions, regexes) live in
// plan-validation.ts and answer 422. Unknown fields are rejected everywhere.
import { z } from 'zod';
import { ERROR_TYPES, MODES } from './statuses.js';

export const MAX_STEPS = 200;
const MAX_STRING = 64 * 1024;

export const stepIdSchema = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, { error: 'must match ^[a-zA-Z][a-zA-Z0-9_-]{0,63}$' });
const alternativeIdSchema = stepIdSchema;
const errorTypeSchema = z.enum(ERROR_TYPES);
const ms = (max: number) => z.int().min(0).max(max);
const DAY_MS = 86_400_000;
/** Longest `delayMs` of a delay step, and longest per-attempt `timeoutMs`, in ms. */
export const MAX_DELAY_MS = 365 * DAY_MS;
export const MAX_TIMEOUT_MS = DAY_MS;
/** Longest flow `deadlineMs`, in ms. */
const MAX_DEADLINE_MS = 365 * DAY_MS;

/**
 * Any JSON value (bodies, inputs, outputs). Size is bounded by the 1 MiB
 * request limit. Values arrive parsed from JSON, so there is nothing to
 * check: unlike z.json(), which walks the value, this schema is not
 * recursive, which lets z.compile turn the schemas holding it into
 * straight-line code (see api/compiled-validator.ts).
 */
export const jsonValueSchema = z.unknown().meta({ description: 'Any JSON value.' });

export const retryPolicySchema = z
  .strictObject({
    maxAttempts: z.int().min(1).max(100).optional().describe('Every attempt including the first. Default 3.'),
    backoff: z.enum(['constant', 'linear', 'exponential', 'fibonacci', 'decorrelated']).optional().describe('Default exponential.'),
    baseDelayMs: ms(DAY_MS).optional().describe('Default 1000.'),
    maxDelayMs: ms(7 * DAY_MS).optional().describe('Cap of any delay. Default 10000.'),
    multiplier: z.number().min(1).max(100).optional().describe('Exponential growth factor. Default 2.'),
    jitter: z.enum(['none', 'full', 'equal', 'decorrelated']).optional().describe('Default full.'),
    retryOn: z.array(errorTypeSchema).max(ERROR_TYPES.length).optional().describe('Error types worth retrying; all retryable ones when omitted.'),
    respectRetryAfter: z.boolean().optional().describe('Never retry before Retry-After / retryAfterMs. Default true.'),
  })
  .meta({ id: 'RetryPolicy' });

export const whenSchema = z
  .strictObject({
    errorTypes: z.array(errorTypeSchema).max(ERROR_TYPES.length).optional(),
    patternIds: z.array(z.string().max(64)).max(100).optional(),
    messageMatches: z.string().max(1024).optional().describe('RE2 regular expression tested against the error message.'),
    httpStatuses: z.array(z.int().min(100).max(599)).max(100).optional(),
  })
  .meta({ id: 'ErrorMatcher' });

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, { error: 'not a valid header name' });
/** What an HTTP header value may hold: tabs and visible Latin-1 (no CR, LF or NUL). */
const headerValue = z
  .string()
  .max(16 * 1024)
  .regex(/^[\t\x20-\x7e\x80-\xff]*$/, { error: 'header values hold tabs and visible Latin-1 characters only (no CR, LF or NUL)' });

export const httpRequestSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).default('GET'),
  url: z.string().min(1).max(4096),
  headers: z.record(headerName, headerValue).optional(),
  body: jsonValueSchema.optional(),
  successStatuses: z.array(z.int().min(100).max(599)).min(1).max(100).optional(),
});

const taskSpecSchema = z.strictObject({
  type: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, { error: 'task type must be 1-128 of [A-Za-z0-9._:-]' }),
  input: jsonValueSchema.optional(),
});

/** Fields that define what a step (or an alternative, or a compensation) does, per kind. */
const kindShapes = {
  http: { kind: z.literal('http'), request: httpRequestSchema },
  task: { kind: z.literal('task'), task: taskSpecSchema },
  delay: { kind: z.literal('delay'), delayMs: ms(MAX_DELAY_MS) },
  approval: { kind: z.literal('approval') },
  noop: { kind: z.literal('noop'), output: jsonValueSchema.optional() },
};

const timeoutMs = z.int().min(1).max(MAX_TIMEOUT_MS).optional().describe('Per attempt. Default 10000.');
/**
 * Circuit breaker keys, usable in a URL path segment: every key the executor
 * derives (http:<host:port>, with [..] around an IPv6 host and up to 253
 * characters of host name) and every key a plan names.
 */
export const CIRCUIT_KEY = /^[A-Za-z0-9._:@[\]-]{1,300}$/;
export const CIRCUIT_KEY_RULE = 'breaker keys are 1-300 of [A-Za-z0-9._:@[]-]';
const circuitBreaker = z.string().regex(CIRCUIT_KEY, { error: CIRCUIT_KEY_RULE }).optional();

/** A fallback: a full step definition with its own retry policy and attempt counter. */
const alternativeExtras = {
  id: alternativeIdSchema,
  when: whenSchema.optional(),
  retry: retryPolicySchema.optional(),
  timeoutMs,
  circuitBreaker,
};
export const fallbackSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...kindShapes.http, ...alternativeExtras }),
    z.strictObject({ ...kindShapes.task, ...alternativeExtras }),
    z.strictObject({ ...kindShapes.delay, ...alternativeExtras }),
    z.strictObject({ ...kindShapes.noop, ...alternativeExtras }),
  ])
  .meta({ id: 'Fallback' });

const patchSchema = z
  .record(z.string().min(1).max(256), jsonValueSchema)
  .describe('Dotted paths into the step definition (e.g. request.body.amount) to values; expressions allowed, $error available.');

const quality = z.number().gt(0).max(1);
const degradationExtras = { ...alternativeExtras, quality };
export const degradationSchema = z
  .union([
    z.strictObject({ id: alternativeIdSchema, when: whenSchema.optional(), quality, patch: patchSchema }),
    z.discriminatedUnion('kind', [
      z.strictObject({ ...kindShapes.http, ...degradationExtras }),
      z.strictObject({ ...kindShapes.task, ...degradationExtras }),
      z.strictObject({ ...kindShapes.delay, ...degradationExtras }),
      z.strictObject({ ...kindShapes.noop, ...degradationExtras }),
    ]),
  ])
  .meta({ id: 'Degradation' });

export const correctionSchema = z
  .strictObject({
    when: whenSchema,
    patch: patchSchema,
    maxTimes: z.int().min(1).max(100).optional().describe('Default 1.'),
  })
  .meta({ id: 'Correction' });

export const escalationPolicySchema = z
  .strictObject({
    enabled: z.boolean(),
    timeoutMs: z.int().min(1).max(30 * DAY_MS).optional(),
    onTimeout: z.enum(['abort', 'skip']).optional().describe('Default abort.'),
    message: z.string().max(4096).optional(),
  })
  .meta({ id: 'EscalationPolicy' });

export const compensationSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...kindShapes.http, timeoutMs }),
    z.strictObject({ ...kindShapes.task, timeoutMs }),
    z.strictObject({ ...kindShapes.delay, timeoutMs }),
    z.strictObject({ ...kindShapes.noop, timeoutMs }),
  ])
  .meta({ id: 'Compensation' });

/**
 * An action as the executor runs it (a step's, an alternative's or a
 * compensation's, with its timeout and retry policy), checked again after
 * patches and expressions, which may write any JSON value anywhere. Other
 * fields (an alternative's id, when, quality) pass unchecked.
 */
const runnableExtras = { timeoutMs: z.int().min(1).max(MAX_TIMEOUT_MS), retry: retryPolicySchema.optional(), circuitBreaker };
export const runnableActionSchema = z.discriminatedUnion('kind', [
  z.looseObject({ ...kindShapes.http, ...runnableExtras }),
  z.looseObject({ ...kindShapes.task, ...runnableExtras }),
  z.looseObject({ ...kindShapes.delay, ...runnableExtras }),
  z.looseObject({ ...kindShapes.approval, ...runnableExtras }),
  z.looseObject({ ...kindShapes.noop, ...runnableExtras }),
]);

/** Step-level recovery fields; also the shape of `defaults`. */
const recoveryShape = {
  critical: z.boolean().optional().describe('Default true.'),
  timeoutMs,
  retry: retryPolicySchema.optional(),
  circuitBreaker: circuitBreaker.describe('Breaker key. Default http:<host:port> for http steps, task:<type> for task steps.'),
  corrections: z.array(correctionSchema).max(20).optional(),
  fallbacks: z.array(fallbackSchema).max(10).optional(),
  degradations: z.array(degradationSchema).max(10).optional(),
  escalation: escalationPolicySchema.optional(),
  maxRecoveryTimeMs: z.int().min(1).max(30 * DAY_MS).optional(),
};

const stepExtras = {
  id: stepIdSchema,
  dependsOn: z.array(stepIdSchema).max(MAX_STEPS).optional().describe('Omitted: the previous step. []: no dependency.'),
  ...recoveryShape,
  compensate: compensationSchema.optional(),
};

export const stepSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...kindShapes.http, ...stepExtras }),
    z.strictObject({ ...kindShapes.task, ...stepExtras }),
    z.strictObject({ ...kindShapes.delay, ...stepExtras }),
    z.strictObject({ ...kindShapes.approval, ...stepExtras }),
    z.strictObject({ ...kindShapes.noop, ...stepExtras }),
  ])
  .meta({ id: 'Step' });

export const NOTIFY_EVENTS = ['flow.completed', 'flow.failed', 'escalation.created'] as const;

export const planSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    mode: z.enum(MODES).default('strict'),
    input: jsonValueSchema.optional(),
    labels: z.record(z.string().min(1).max(64), z.string().max(256)).optional(),
    deadlineMs: z.int().min(1).max(MAX_DEADLINE_MS).optional(),
    defaults: z.strictObject(recoveryShape).optional(),
    notify: z
      .strictObject({ url: z.string().min(1).max(4096), events: z.array(z.enum(NOTIFY_EVENTS)).max(3).optional() })
      .optional(),
    steps: z.array(stepSchema).min(1).max(MAX_STEPS, { error: `at most ${MAX_STEPS} steps` }),
  })
  .superRefine((plan, ctx) => {
    if (plan.labels && Object.keys(plan.labels).length > 50) ctx.addIssue({ code: 'custom', path: ['labels'], message: 'at most 50 labels' });
    if (JSON.stringify(plan).length > 4 * MAX_STRING * 16) ctx.addIssue({ code: 'custom', message: 'plan too large' });
  })
  .meta({ id: 'FlowPlan' });

export type PlanInput = z.input<typeof planSchema>;
export type Plan = z.output<typeof planSchema>;
export type StepDefinition = z.output<typeof stepSchema>;
export type RetryPolicyInput = z.output<typeof retryPolicySchema>;
export type When = z.output<typeof whenSchema>;
export type Correction = z.output<typeof correctionSchema>;
export type Fallback = z.output<typeof fallbackSchema>;
export type Degradation = z.output<typeof degradationSchema>;
export type EscalationPolicy = z.output<typeof escalationPolicySchema>;
export type Compensation = z.output<typeof compensationSchema>;
export type HttpRequestSpec = z.output<typeof httpRequestSchema>;
