// Request and response schemas of the Flows API.
import { z } from 'zod';
import { jsonValueSchema, stepIdSchema } from '../../domain/plan-schema.js';
import { FLOW_STATUSES, MODES, STEP_STATUSES } from '../../domain/statuses.js';

export const uuidParam = z.object({ id: z.uuid({ error: 'must be a UUID' }) });

export const listQuerySchema = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
};

export const createFlowQuery = z.strictObject({
  waitMs: z.coerce.number().int().min(0).max(60000).optional().describe('Wait up to this long for a terminal status: 200 when reached, else 202.'),
});

export const createFlowHeaders = z.object({
  'idempotency-key': z.string().min(1).max(256).optional(),
});

const compensationView = z.object({ status: z.string(), error: z.unknown() }).nullable();

const attemptView = z.object({
  phase: z.enum(['forward', 'compensate']),
  number: z.number().int(),
  alternativeId: z.string().nullable(),
  outcome: z.enum(['succeeded', 'failed']),
  error: z.unknown(),
  executedBy: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().int(),
});

export const stepView = z
  .object({
    id: z.string(),
    kind: z.string(),
    status: z.enum(STEP_STATUSES),
    critical: z.boolean(),
    dependsOn: z.array(z.string()),
    attempts: z.number().int().describe('Every attempt the step made, all alternatives together.'),
    strategy: z.string().nullable().describe('null when the first attempt settled the step, else the last rung applied.'),
    alternativeId: z.string().nullable(),
    quality: z.number().nullable(),
    output: z.unknown(),
    error: z.unknown().describe("The step's last classified error; null once it succeeded (each attempt's error is in history)."),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    compensation: compensationView,
    history: z.array(attemptView).describe('Each attempt, oldest first, with its classified error.'),
  })
  .meta({ id: 'StepView' });

export const flowSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  mode: z.enum(MODES),
  status: z.enum(FLOW_STATUSES),
  input: z.unknown(),
  quality: z.number(),
  labels: z.record(z.string(), z.string()),
  error: z.unknown(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  deadlineAt: z.string().nullable(),
  traceId: z.string().nullable(),
});

export const flowView = flowSummary
  .extend({
    output: z.record(z.string(), z.unknown()).describe('{<stepId>: output} of the succeeded steps.'),
    steps: z.array(stepView),
  })
  .meta({ id: 'Flow' });

export const flowListQuery = z.strictObject({
  status: z.enum(FLOW_STATUSES).optional(),
  name: z.string().max(200).optional(),
  label: z
    .union([z.string(), z.array(z.string()).max(20)])
    .optional()
    .describe('key:value; repeat for several labels (all must match).'),
  ...listQuerySchema,
});

export const flowList = z.object({ items: z.array(flowSummary.meta({ id: 'FlowSummary' })), nextCursor: z.string().nullable() });

export const eventsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).max(2_147_483_647).optional().describe('Return the events after this seq.'),
  limit: z.coerce.number().int().min(1).max(500).default(500),
});

export const eventView = z.object({
  seq: z.number().int(),
  at: z.string(),
  type: z.string(),
  stepId: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});

export const eventList = z.object({ items: z.array(eventView), nextCursor: z.string().nullable() }).meta({ id: 'FlowEventList' });

export const cancelBody = z
  .strictObject({ compensate: z.boolean().optional().describe('Default true in strict and conditional modes, false in lenient.') })
  .nullish()
  .describe('Optional body.');

export const restartBody = z
  .strictObject({
    fromStep: stepIdSchema.optional().describe('Default: the first failed step.'),
    // The restart contract is `input?: object`: any other JSON value (null included) is a 400, not a new input.
    input: z.record(z.string(), jsonValueSchema).optional().describe('A JSON object; replaces the flow input.'),
  })
  .nullish()
  .describe('Optional body.');
