// Request and response schemas of the Tasks API (external workers).
import { z } from 'zod';
import { ERROR_TYPES } from '../../domain/statuses.js';

export const taskIdParam = z.object({ id: z.uuid({ error: 'must be a task id (UUID)' }) });

export const pollBody = z.strictObject({
  workerId: z.string().min(1).max(200),
  types: z.array(z.string().min(1).max(128)).min(1).max(50),
  max: z.int().min(1).max(100).default(1),
  waitMs: z.int().min(0).max(30000).default(0).describe('Long-poll: wait up to this long for a task.'),
});

export const taskView = z
  .object({
    id: z.uuid().describe('Task id of this attempt; pass it to heartbeat, complete and fail.'),
    flowId: z.uuid(),
    stepId: z.string(),
    type: z.string(),
    input: z.unknown(),
    attempt: z.number().int(),
    idempotencyKey: z.string(),
    leaseExpiresAt: z.string(),
  })
  .meta({ id: 'Task' });

export const pollResponse = z.object({ tasks: z.array(taskView) });

export const heartbeatResponse = z.object({ leaseExpiresAt: z.string() });

export const completeBody = z.strictObject({ output: z.json().optional() });

export const failBody = z.strictObject({
  error: z.strictObject({
    message: z.string().max(64 * 1024),
    type: z.enum(ERROR_TYPES).optional().describe('Your classification, used when no mapping or pattern decides.'),
    code: z.string().max(256).optional(),
    retryable: z.boolean().optional(),
    retryAfterMs: z.int().min(0).max(7 * 86_400_000).optional(),
  }),
});

export const acceptedResponse = z.object({ status: z.enum(['accepted']) });
