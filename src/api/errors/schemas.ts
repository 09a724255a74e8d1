// Request and response schemas of the Errors API (analysis and patterns).
import { z } from 'zod';
import { ERROR_TYPES, SEVERITIES, STRATEGIES } from '../../domain/statuses.js';
import { listQuerySchema } from '../flows/schemas.js';

/** Longest message analysed, in characters (64 KiB); longer is 413. */
export const MAX_MESSAGE_CHARS = 64 * 1024;

export const analyzeBody = z.strictObject({
  message: z.string().describe(`The error message, up to ${MAX_MESSAGE_CHARS} characters (longer is 413).`),
  code: z.string().max(256).optional(),
  httpStatus: z.int().min(100).max(599).optional(),
  errorType: z.enum(ERROR_TYPES).optional().describe('Your hint, used only when no mapping or pattern decides.'),
  component: z.string().min(1).max(256).optional(),
  stack: z.string().max(64 * 1024).optional(),
  context: z.record(z.string(), z.json()).optional(),
});

const patternRef = z.object({ id: z.string(), name: z.string(), priority: z.number().int() });

export const analysisView = z
  .object({
    errorType: z.enum(ERROR_TYPES),
    severity: z.enum(SEVERITIES),
    retryable: z.boolean(),
    recommendedStrategy: z.enum(STRATEGIES),
    pattern: patternRef.nullable(),
    occurrences: z.object({ pattern: z.number().int(), component: z.number().int() }),
    escalate: z.boolean(),
    reasons: z.array(z.string()),
  })
  .meta({ id: 'ErrorAnalysis' });

export const patternIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { error: 'must match ^[a-z0-9][a-z0-9_-]{0,63}$' });

const patternFields = {
  name: z.string().min(1).max(200),
  regex: z.string().min(1).max(64 * 1024).describe('RE2 syntax, at most 1024 characters (422 beyond or when RE2 rejects it).'),
  matchOn: z.enum(['message', 'code', 'any']).default('message'),
  errorType: z.enum(ERROR_TYPES).nullish(),
  severity: z.enum(SEVERITIES).nullish(),
  retryable: z.boolean().nullish(),
  recommendedStrategy: z.enum(STRATEGIES).nullish(),
  priority: z.int().min(0).max(1000).default(500),
  enabled: z.boolean().default(true),
};

export const createPatternBody = z.strictObject({ id: patternIdSchema.optional().describe('Generated from the name when omitted.'), ...patternFields });
export const putPatternBody = z.strictObject(patternFields);
export const patternParams = z.object({ id: patternIdSchema });

export const patternView = z
  .object({
    id: z.string(),
    name: z.string(),
    regex: z.string(),
    matchOn: z.enum(['message', 'code', 'any']),
    errorType: z.enum(ERROR_TYPES).nullable(),
    severity: z.enum(SEVERITIES).nullable(),
    retryable: z.boolean().nullable(),
    recommendedStrategy: z.enum(STRATEGIES).nullable(),
    priority: z.number().int(),
    enabled: z.boolean(),
    builtin: z.boolean(),
    updatedBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ErrorPattern' });

export const patternListQuery = z.strictObject({
  enabled: z.enum(['true', 'false']).optional(),
  builtin: z.enum(['true', 'false']).optional(),
  ...listQuerySchema,
});
export const patternList = z.object({ items: z.array(patternView), nextCursor: z.string().nullable() });
