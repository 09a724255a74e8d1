// Request and response schemas of the Circuits API.
import { z } from 'zod';
import { CIRCUIT_KEY, CIRCUIT_KEY_RULE } from '../../domain/plan-schema.js';
import { CIRCUIT_STATES } from '../../domain/statuses.js';

export const circuitKeyParams = z.object({ key: z.string().regex(CIRCUIT_KEY, { error: CIRCUIT_KEY_RULE }) });

export const circuitConfigBody = z
  .strictObject({
    failureThreshold: z.int().min(1).max(10000).default(5),
    failureRateThreshold: z.number().gt(0).max(1).nullable().default(null),
    minimumCalls: z.int().min(1).max(100000).default(10),
    windowMs: z.int().min(100).max(86_400_000).default(60000),
    openMs: z.int().min(10).max(86_400_000).default(30000),
    halfOpenMaxCalls: z.int().min(1).max(10000).default(1),
    successThreshold: z.int().min(1).max(10000).default(1),
  })
  .meta({ id: 'CircuitConfig' });

export const circuitView = z
  .object({
    key: z.string(),
    state: z.enum(CIRCUIT_STATES),
    config: z.object({
      failureThreshold: z.number().int(),
      failureRateThreshold: z.number().nullable(),
      minimumCalls: z.number().int(),
      windowMs: z.number().int(),
      openMs: z.number().int(),
      halfOpenMaxCalls: z.number().int(),
      successThreshold: z.number().int(),
    }),
    configured: z.boolean().describe('false while the key uses the defaults.'),
    failures: z.number().int().describe('Consecutive countable failures (closed), or failures in the rate window.'),
    successes: z.number().int().describe('Successful probes while half-open.'),
    calls: z.number().int().describe('Calls in the current failure-rate window.'),
    openedAt: z.string().nullable(),
    nextProbeAt: z.string().nullable(),
    forced: z.boolean(),
  })
  .meta({ id: 'Circuit' });

export const circuitList = z.object({ items: z.array(circuitView), nextCursor: z.string().nullable() });
export const circuitListQuery = z.strictObject({
  state: z.enum(CIRCUIT_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});

export const forceOpenBody = z.strictObject({ durationMs: z.int().min(1).max(30 * 86_400_000).optional().describe('Omitted: open until closed.') }).nullish();
