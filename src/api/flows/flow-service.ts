// The Flows API's behaviour: submit (validated, idempotent, optionally
// waited on), read, list, events, cancel, restart.
import { createHash } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import type { AddressPolicy } from '../../domain/address-policy.js';
import { normalizePlan } from '../../domain/plan.js';
import { traceparentOf, tracer } from '../../tracing.js';
import type { Plan } from '../../domain/plan-schema.js';
import { validatePlan } from '../../domain/plan-validation.js';
import type { Database } from '../../store/database.js';
import { createFlowCreator, type CreateResult } from '../../store/flow-creation.js';
import { flowExists, getFlowDetails, listEvents, listFlows } from '../../store/flow-repository.js';
import { runFlowTx } from '../../store/flow-tx.js';
import { CommandRefused, UnknownStep, cancelFlow, restartFlow } from '../../store/transitions/flow-commands.js';
import { ConflictError, NotFoundError, PlanError, BadRequestError, HttpProblem } from '../problems.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { redactSecrets } from '../redaction.js';
import { flowDetailsView, flowSummaryView, newFlowView } from './flow-view.js';
import type { FlowWaiters } from './flow-waiters.js';

/** JSON with object keys sorted, so equal bodies hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Characters `defaults` may add to a plan once copied into every step (16 MiB). */
export const MAX_EXPANDED_DEFAULTS_CHARS = 16 * 1024 * 1024;

/**
 * `defaults` are copied into every step of the stored plan: a body within the
 * size limit could otherwise expand a thousandfold (1 MiB of defaults, 200
 * steps).
 */
function refuseExpansiveDefaults(plan: Plan): void {
  if (!plan.defaults) return;
  const expanded = JSON.stringify(plan.defaults).length * plan.steps.length;
  if (expanded > MAX_EXPANDED_DEFAULTS_CHARS) {
    throw new HttpProblem(
      413,
      'payload-too-large',
      'Payload too large',
      `defaults are copied into each of the ${plan.steps.length} steps: ${expanded} characters in all, at most ${MAX_EXPANDED_DEFAULTS_CHARS}`,
    );
  }
}

export function createFlowService({ db, waiters, addressPolicy }: { db: Database; waiters: FlowWaiters; addressPolicy?: AddressPolicy | undefined }) {
  const creator = createFlowCreator(db);

  async function view(id: string) {
    const details = await getFlowDetails(db, id);
    if (!details) throw new NotFoundError(`flow ${id} does not exist`);
    return flowDetailsView(details);
  }

  async function command<T>(id: string, fn: Parameters<typeof runFlowTx<T>>[2]): Promise<T> {
    try {
      const result = await runFlowTx(db, id, async (tx) => ({ value: await fn(tx) }));
      if (result === undefined) throw new NotFoundError(`flow ${id} does not exist`);
      return result.value;
    } catch (error) {
      if (error instanceof CommandRefused) throw new ConflictError(error.message);
      if (error instanceof UnknownStep) throw new PlanError(error.message, [{ path: '$.fromStep', message: error.message }]);
      throw error;
    }
  }

  return {
    async submit(
      rawBody: unknown,
      plan: Plan,
      options: { idempotencyKey?: string | undefined; createdBy: string | null; waitMs?: number | undefined; parent?: Context | undefined },
    ) {
      const issues = validatePlan(plan, addressPolicy ? { literalRefusal: addressPolicy.literalRefusal } : {});
      if (issues.length > 0) throw new PlanError(`the plan cannot run: ${issues[0]!.message}`, issues);
      refuseExpansiveDefaults(plan);
      // Only a repeated Idempotency-Key is ever compared with the request it was first used for.
      const requestHash = options.idempotencyKey === undefined ? null : createHash('sha256').update(canonicalJson(rawBody)).digest('hex');
      // The flow's span: parent of every attempt span, wherever and whenever they run.
      const span = tracer().startSpan(`flow ${plan.name}`, { attributes: { 'rebound.flow.name': plan.name, 'rebound.flow.mode': plan.mode } }, options.parent);
      const traceparent = traceparentOf(span);
      let result: CreateResult;
      const normalized = normalizePlan(plan);
      const traceId = traceparent ? span.spanContext().traceId : null;
      try {
        result = await creator.create({
          plan: normalized,
          idempotencyKey: options.idempotencyKey,
          requestHash,
          createdBy: options.createdBy,
          traceId,
          traceparent,
        });
        span.setAttribute('rebound.flow.id', result.flowId);
      } finally {
        span.end();
      }
      if (!result.created && !result.sameRequest) {
        throw new ConflictError(`Idempotency-Key ${options.idempotencyKey} was used for a different request (flow ${result.flowId})`);
      }
      const terminal = options.waitMs ? await waiters.wait(result.flowId, options.waitMs) : false;
      // A flow just created is answered from what was written; anything else is read back.
      const flow = result.created && !options.waitMs ? newFlowView(normalized, result, { createdBy: options.createdBy, traceId }) : await view(result.flowId);
      return { flow, created: result.created, terminal };
    },

    get: view,

    async list(q: { status?: string | undefined; name?: string | undefined; label?: string | string[] | undefined; limit: number; cursor?: string | undefined }) {
      const labels = (q.label === undefined ? [] : Array.isArray(q.label) ? q.label : [q.label]).map((l): [string, string] => {
        const i = l.indexOf(':');
        if (i <= 0) throw new BadRequestError('label filters are key:value', [{ path: '$query.label', message: `"${l}" is not key:value` }]);
        return [l.slice(0, i), l.slice(i + 1)];
      });
      const before = q.cursor ? decodeCursor(q.cursor) : undefined;
      const rows = await listFlows(db, { status: q.status, name: q.name, labels, before, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map(flowSummaryView),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
      };
    },

    async events(id: string, after: number, limit: number) {
      const rows = await listEvents(db, id, after, limit + 1);
      if (rows.length === 0 && !(await flowExists(db, id))) throw new NotFoundError(`flow ${id} does not exist`);
      const page = rows.slice(0, limit);
      return {
        items: page.map((e) => ({ seq: e.seq, at: e.at.toISOString(), type: e.type, ...(e.stepId ? { stepId: e.stepId } : {}), data: redactSecrets(e.data) })),
        nextCursor: rows.length > limit ? String(page.at(-1)!.seq) : null,
      };
    },

    async cancel(id: string, compensate: boolean | undefined, by: string | null) {
      await command(id, (tx) => cancelFlow(tx, compensate, by));
      return view(id);
    },

    async restart(id: string, fromStep: string | undefined, input: unknown) {
      await command(id, (tx) => restartFlow(tx, fromStep, input));
      return view(id);
    },
  };
}

export type FlowService = ReturnType<typeof createFlowService>;
