// Request and response schemas of the Escalations API.
import { z } from 'zod';
import { ESCALATION_ACTIONS, ESCALATION_KINDS, ESCALATION_STATUSES } from '../../domain/statuses.js';
import { listQuerySchema } from '../flows/schemas.js';

export const escalationListQuery = z.strictObject({
  status: z.enum(ESCALATION_STATUSES).optional(),
  flowId: z.uuid().optional(),
  kind: z.enum(ESCALATION_KINDS).optional(),
  ...listQuerySchema,
});

export const escalationView = z
  .object({
    id: z.uuid(),
    kind: z.enum(ESCALATION_KINDS),
    status: z.enum(ESCALATION_STATUSES),
    flowId: z.uuid(),
    stepId: z.string(),
    reason: z.string(),
    message: z.string().nullable(),
    error: z.unknown().describe('The classified error that led here (null for approvals).'),
    attempts: z.number().int(),
    allowedActions: z.array(z.enum(ESCALATION_ACTIONS)),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    resolution: z
      .object({ action: z.enum(ESCALATION_ACTIONS), note: z.string().nullable(), resolvedBy: z.string().nullable(), output: z.unknown().optional(), patch: z.unknown().optional() })
      .nullable(),
  })
  .meta({ id: 'Escalation' });

export const escalationDetails = escalationView
  .extend({
    context: z.object({
      flowName: z.string(),
      flowStatus: z.string(),
      step: z.object({ status: z.string(), kind: z.string(), alternativeId: z.string().nullable(), definition: z.unknown(), output: z.unknown() }).nullable(),
    }),
  })
  .meta({ id: 'EscalationDetails' });

export const escalationList = z.object({ items: z.array(escalationView), nextCursor: z.string().nullable() });

export const resolveBody = z.strictObject({
  action: z.enum(ESCALATION_ACTIONS),
  patch: z.record(z.string().min(1).max(256), z.json()).optional().describe('retry: dotted paths into the step definition.'),
  output: z.json().optional().describe('complete: the step output; skip: what dependents see.'),
  note: z.string().max(4096).optional(),
});
