// The Escalations API's behaviour: list, details with context, resolve.
import type { Database } from '../../store/database.js';
import { runFlowTx } from '../../store/flow-tx.js';
import { ActionNotAllowed, OutputRefused, PatchRefused, resolveEscalation, type Resolution } from '../../store/transitions/escalation-resolution.js';
import { CommandRefused } from '../../store/transitions/flow-commands.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ConflictError, NotFoundError, PlanError } from '../problems.js';
import { redactSecrets } from '../redaction.js';

type EscalationRecord = NonNullable<Awaited<ReturnType<Database['prisma']['escalation']['findUnique']>>>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function view(e: EscalationRecord) {
  return {
    id: e.id,
    kind: e.kind as 'recovery' | 'approval' | 'compensation',
    status: e.status as 'open' | 'resolved' | 'expired',
    flowId: e.flowId,
    stepId: e.stepId,
    reason: e.reason,
    message: e.message,
    error: e.error,
    attempts: e.attempts,
    allowedActions: e.allowedActions as ('retry' | 'skip' | 'abort' | 'complete')[],
    createdAt: e.createdAt.toISOString(),
    expiresAt: iso(e.expiresAt),
    resolvedAt: iso(e.resolvedAt),
    resolution: (e.resolution ?? null) as never,
  };
}

export function createEscalationService({ db }: { db: Database }) {
  async function details(id: string) {
    const e = await db.prisma.escalation.findUnique({ where: { id }, include: { flow: { select: { name: true, status: true } } } });
    if (!e) throw new NotFoundError(`escalation ${id} does not exist`);
    const step = await db.prisma.step.findUnique({
      where: { flowId_stepId: { flowId: e.flowId, stepId: e.stepId } },
      select: { status: true, kind: true, alternativeId: true, definition: true, output: true },
    });
    return redactSecrets({ ...view(e), context: { flowName: e.flow.name, flowStatus: e.flow.status, step } });
  }

  return {
    details,

    async list(q: { status?: string | undefined; flowId?: string | undefined; kind?: string | undefined; limit: number; cursor?: string | undefined }) {
      const before = q.cursor ? decodeCursor(q.cursor) : undefined;
      const rows = await db.prisma.escalation.findMany({
        where: {
          ...(q.status ? { status: q.status } : {}),
          ...(q.flowId ? { flowId: q.flowId } : {}),
          ...(q.kind ? { kind: q.kind } : {}),
          ...(before
            ? { OR: [{ createdAt: { lt: new Date(before.createdAt) } }, { createdAt: new Date(before.createdAt), id: { lt: before.id } }] }
            : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map(view),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
      };
    },

    async resolve(id: string, r: Resolution) {
      const e = await db.prisma.escalation.findUnique({ where: { id }, select: { flowId: true } });
      if (!e) throw new NotFoundError(`escalation ${id} does not exist`);
      try {
        await runFlowTx(db, e.flowId, (tx) => resolveEscalation(tx, id, r));
      } catch (error) {
        if (error instanceof CommandRefused) throw new ConflictError(error.message);
        if (error instanceof ActionNotAllowed) throw new PlanError(error.message, [{ path: '$.action', message: error.message }]);
        if (error instanceof PatchRefused) throw new PlanError(error.message, [{ path: '$.patch', message: error.message }]);
        if (error instanceof OutputRefused) throw new PlanError(error.message, [{ path: '$.output', message: error.message }]);
        throw error;
      }
      return details(id);
    },
  };
}

export type EscalationService = ReturnType<typeof createEscalationService>;
