// Error-pattern CRUD. Every change bumps the registry version and sends a
// NOTIFY in the same transaction, so every replica reloads within a second.
import { randomBytes } from 'node:crypto';
import { Prisma } from '../../generated/prisma/client.js';
import { checkRegex } from '../../domain/plan-validation.js';
import { PATTERN_CHANNEL } from '../../store/channels.js';
import type { Database } from '../../store/database.js';
import { BadRequestError, ConflictError, NotFoundError, PlanError } from '../problems.js';

/** Longest pattern regex accepted, in characters. */
export const MAX_REGEX_CHARS = 1024;

export interface PatternInput {
  name: string;
  regex: string;
  matchOn: 'message' | 'code' | 'any';
  errorType?: string | null | undefined;
  severity?: string | null | undefined;
  retryable?: boolean | null | undefined;
  recommendedStrategy?: string | null | undefined;
  priority: number;
  enabled: boolean;
}

type PatternRecord = Awaited<ReturnType<Database['prisma']['errorPattern']['findUniqueOrThrow']>>;

function view(p: PatternRecord) {
  return {
    ...p,
    matchOn: p.matchOn as 'message' | 'code' | 'any',
    errorType: p.errorType as never,
    severity: p.severity as never,
    recommendedStrategy: p.recommendedStrategy as never,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

function checkPattern(input: PatternInput): void {
  if (input.regex.length > MAX_REGEX_CHARS) {
    throw new PlanError(`regex is ${input.regex.length} characters; at most ${MAX_REGEX_CHARS}`, [{ path: '$.regex', message: `at most ${MAX_REGEX_CHARS} characters` }]);
  }
  const problem = checkRegex(input.regex);
  if (problem) throw new PlanError(problem, [{ path: '$.regex', message: problem }]);
}

function slugFrom(name: string): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'pattern';
  return `${/^[a-z0-9]/.test(base) ? base : `p${base}`}-${randomBytes(3).toString('hex')}`;
}

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

export function createPatternService({ db }: { db: Database }) {
  const p = db.prisma;
  /** The statements that publish a change: version bump and NOTIFY, in the caller's transaction. */
  const publish = () => [
    p.$executeRaw`UPDATE pattern_registry SET version = version + 1, updated_at = now() WHERE id = 1`,
    p.$queryRaw`SELECT pg_notify(${PATTERN_CHANNEL}, 'changed')::text AS sent`,
  ];

  async function get(id: string) {
    const found = await p.errorPattern.findUnique({ where: { id } });
    if (!found) throw new NotFoundError(`error pattern ${id} does not exist`);
    return found;
  }

  return {
    async list(q: { enabled?: string | undefined; builtin?: string | undefined; limit: number; cursor?: string | undefined }) {
      const after = q.cursor ? Buffer.from(q.cursor, 'base64url').toString('utf8') : undefined;
      if (after !== undefined && !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(after)) throw new BadRequestError('invalid cursor');
      const rows = await p.errorPattern.findMany({
        where: {
          ...(q.enabled ? { enabled: q.enabled === 'true' } : {}),
          ...(q.builtin ? { builtin: q.builtin === 'true' } : {}),
          ...(after ? { id: { gt: after } } : {}),
        },
        orderBy: { id: 'asc' },
        take: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return { items: page.map(view), nextCursor: rows.length > q.limit ? Buffer.from(page.at(-1)!.id).toString('base64url') : null };
    },

    get: async (id: string) => view(await get(id)),

    async create(input: PatternInput & { id?: string | undefined }, by: string | null) {
      checkPattern(input);
      const id = input.id ?? slugFrom(input.name);
      try {
        const [created] = await p.$transaction([
          p.errorPattern.create({ data: { ...input, id, builtin: false, updatedBy: by } }),
          ...publish(),
        ]);
        return view(created as PatternRecord);
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`error pattern id ${id} is taken`);
        throw error;
      }
    },

    async replace(id: string, input: PatternInput, by: string | null) {
      checkPattern(input);
      await get(id);
      const [updated] = await p.$transaction([
        p.errorPattern.update({
          where: { id },
          data: {
            ...input,
            errorType: input.errorType ?? null,
            severity: input.severity ?? null,
            retryable: input.retryable ?? null,
            recommendedStrategy: input.recommendedStrategy ?? null,
            updatedBy: by,
            updatedAt: new Date(),
          },
        }),
        ...publish(),
      ]);
      return view(updated as PatternRecord);
    },

    async remove(id: string) {
      const found = await get(id);
      if (found.builtin) throw new ConflictError(`error pattern ${id} is built in: disable it with PUT instead`);
      await p.$transaction([p.errorPattern.delete({ where: { id } }), ...publish()]);
    },
  };
}

export type PatternService = ReturnType<typeof createPatternService>;
