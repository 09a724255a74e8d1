// Flow creation: the flow, its steps and its first event in one statement,
// idempotent by key. Submissions that arrive together are written together:
// the creator puts the flows submitted in the same turn of the event loop
// into one statement (one round trip and one commit for all of them; up to
// 64 flows and 8 MiB of JSON each). A batch that fails is retried one flow
// per statement, so one bad flow never fails others, and a repeated
// Idempotency-Key waits until the statement writing its first use is done.
import { uuidv7 } from './uuid-v7.js';
import { primaryDelayMs, type NormalizedPlan } from '../domain/plan.js';
import type { Database } from './database.js';
import { prepared } from './prepared.js';
import { delayStartedData } from './transitions/attempts.js';
import { CREATE_FLOWS } from './sql/create-flows.js';

export interface NewFlow {
  plan: NormalizedPlan;
  idempotencyKey: string | undefined;
  /** Hash of the request body, kept to recognise a repeated Idempotency-Key; null without a key. */
  requestHash: string | null;
  createdBy: string | null;
  traceId: string | null;
  traceparent: string | null;
}

export type CreateResult =
  | { created: true; flowId: string; createdAt: Date; steps: { id: string; stepId: string; status: string }[] }
  | { created: false; flowId: string; sameRequest: boolean };

/** The delay a step starts with when it is due at creation (a root `delay` step is parked on its timer at once), else null. */
function rootDelayMs(s: NormalizedPlan['steps'][number]): number | null {
  return s.dependsOn.length === 0 ? primaryDelayMs(s) : null;
}

function stepRecords(plan: NormalizedPlan) {
  return plan.steps.map((s) => ({
    id: uuidv7(),
    step_id: s.id,
    position: s.position,
    kind: s.primary.kind,
    status: rootDelayMs(s) !== null ? 'running' : s.dependsOn.length === 0 ? 'scheduled' : 'pending',
    delay_ms: rootDelayMs(s),
    critical: s.critical,
    depends_on: s.dependsOn,
    pending_deps: s.dependsOn.length,
    // config (the normalized step) and definition (its primary) are taken from the plan by
    // the statement: sent once, not three times.
  }));
}

function flowRecord(id: string, f: NewFlow, steps: ReturnType<typeof stepRecords>) {
  // flow.started is event 1; each delay parked at creation has started too.
  const timers = f.plan.steps
    .filter((s) => rootDelayMs(s) !== null)
    .map((s, i) => ({ seq: 2 + i, step_id: s.id, data: delayStartedData(rootDelayMs(s)!) }));
  return {
    id,
    name: f.plan.name,
    mode: f.plan.mode,
    input: f.plan.input,
    labels: f.plan.labels,
    plan: f.plan,
    notify: f.plan.notify ?? null,
    deadline_ms: f.plan.deadlineMs ?? null,
    idempotency_key: f.idempotencyKey ?? null,
    request_hash: f.requestHash,
    created_by: f.createdBy,
    trace_id: f.traceId,
    traceparent: f.traceparent,
    steps_remaining: f.plan.steps.length,
    steps,
    started: { mode: f.plan.mode, steps: f.plan.steps.length, createdBy: f.createdBy },
    timers,
    event_seq: 1 + timers.length,
  };
}

interface CreatedRow {
  id: string;
  requestId: string;
  createdAt: Date;
  created: boolean;
  requestHash: string | null;
}

/** A flow ready to write: its record as JSON, and what its result reports. */
interface Prepared {
  flow: NewFlow;
  id: string;
  json: string;
  steps: { id: string; stepId: string; status: string }[];
}

function prepare(flow: NewFlow): Prepared {
  const steps = stepRecords(flow.plan);
  const id = uuidv7();
  return { flow, id, json: JSON.stringify(flowRecord(id, flow, steps)), steps: steps.map((st) => ({ id: st.id, stepId: st.step_id, status: st.status })) };
}

/**
 * Writes prepared flows in one statement. Each result is undefined when the
 * flow's Idempotency-Key was being taken by a statement not yet committed:
 * ask again.
 */
async function writePrepared(db: Database, flows: Prepared[]): Promise<(CreateResult | undefined)[]> {
  const { rows } = await db.query<CreatedRow>(prepared(CREATE_FLOWS, [`[${flows.map((f) => f.json).join(',')}]`]));
  const byRequest = new Map(rows.map((row) => [row.requestId, row]));
  return flows.map(({ flow, id, steps }): CreateResult | undefined => {
    const row = byRequest.get(id);
    if (!row) return undefined;
    if (!row.created) return { created: false, flowId: row.id, sameRequest: row.requestHash !== null && row.requestHash === flow.requestHash };
    return { created: true, flowId: row.id, createdAt: row.createdAt, steps };
  });
}

/** Creates one flow (its own statement). */
export async function createFlow(db: Database, f: NewFlow): Promise<CreateResult> {
  const one = prepare(f);
  for (;;) {
    const [result] = await writePrepared(db, [one]);
    if (result) return result;
  }
}

interface Pending extends Prepared {
  resolve: (result: CreateResult) => void;
  reject: (error: unknown) => void;
}

export interface FlowCreatorOptions {
  /** Flows per statement at most. Defaults to 64. */
  maxBatch?: number;
  /** JSON characters per statement at most (a single larger flow goes alone). Defaults to 8 MiB. */
  maxBatchChars?: number;
  /** Statements in flight at once (database connections). Defaults to 4. */
  maxParallel?: number;
}

/** Batches concurrent creations into shared statements (see the file's header). */
export function createFlowCreator(db: Database, options: FlowCreatorOptions = {}) {
  const maxBatch = options.maxBatch ?? 64;
  const maxBatchChars = options.maxBatchChars ?? 8 * 1024 * 1024;
  const maxParallel = options.maxParallel ?? 4;
  const queue: Pending[] = [];
  /** Idempotency-Keys of the statements in flight: a repeat waits until its first use is written. */
  const keysInFlight = new Set<string>();
  let running = 0;
  let scheduled = false;

  /** The next batch: flows in arrival order within the size limits, none with a key already being written. */
  function take(): Pending[] {
    const batch: Pending[] = [];
    let chars = 0;
    for (let i = 0; i < queue.length && batch.length < maxBatch; ) {
      const next = queue[i]!;
      const key = next.flow.idempotencyKey;
      if (key !== undefined && keysInFlight.has(key)) {
        i++;
        continue;
      }
      if (batch.length > 0 && chars + next.json.length > maxBatchChars) break;
      if (key !== undefined) keysInFlight.add(key);
      chars += next.json.length;
      batch.push(...queue.splice(i, 1));
    }
    return batch;
  }

  async function write(batch: Pending[]): Promise<void> {
    let results: (CreateResult | undefined)[];
    try {
      results = await writePrepared(db, batch);
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      // Find the culprit: every flow alone.
      for (const p of batch) await write([p]);
      return;
    }
    for (const [i, p] of batch.entries()) {
      const result = results[i];
      if (result) p.resolve(result);
      else queue.push(p); // its key was being taken by another process: ask again
    }
  }

  function pump(): void {
    scheduled = false;
    while (running < maxParallel && queue.length > 0) {
      const batch = take();
      if (batch.length === 0) return; // every queued flow waits for a key in flight
      running++;
      void write(batch).finally(() => {
        for (const p of batch) if (p.flow.idempotencyKey !== undefined) keysInFlight.delete(p.flow.idempotencyKey);
        running--;
        if (queue.length > 0) pump();
      });
    }
  }

  return {
    /** Creates the flow with the others submitted at about the same time. */
    create(flow: NewFlow): Promise<CreateResult> {
      return new Promise((resolve, reject) => {
        queue.push({ ...prepare(flow), resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
  };
}

export type FlowCreator = ReturnType<typeof createFlowCreator>;
