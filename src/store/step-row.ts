// The step row as the executor and the API read it (camelCase), with the SQL
// select list that produces it.
import type { Action, ExecutableDefinition, NormalizedStep } from '../domain/plan.js';
import type { CompensationStatus, DueAction, StepKind, StepStatus } from '../domain/statuses.js';

export interface StepRow {
  id: string;
  flowId: string;
  stepId: string;
  position: number;
  kind: StepKind;
  status: StepStatus;
  critical: boolean;
  dependsOn: string[];
  pendingDeps: number;
  config: NormalizedStep;
  definition: ExecutableDefinition;
  alternativeId: string | null;
  fallbackIndex: number;
  degradationIndex: number;
  attempt: number;
  countedAttempts: number;
  correctionRerun: boolean;
  attemptsTotal: number;
  /** The flow run this row was read in (a restart adds one). */
  run: number;
  correctionsUsed: Record<string, number>;
  strategy: string | null;
  quality: number | null;
  output: unknown;
  error: unknown;
  lastDelayMs: number | null;
  firstFailureAt: Date | null;
  firstErrorType: string | null;
  runAt: Date | null;
  dueAction: DueAction | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  taskType: string | null;
  taskId: string | null;
  taskInput: unknown;
  taskWorkerId: string | null;
  taskClaimedAt: Date | null;
  /** The breaker probe the task was offered as (its answer frees that slot); null when it was not one. */
  taskProbe: { epoch: number; slot: number } | null;
  completionOrder: string | null;
  compensationStatus: CompensationStatus | null;
  compensationError: unknown;
  compensationAttempt: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A compensation action as stored in config.compensate. */
export type CompensationAction = Action & { timeoutMs: number };

/** `SELECT ${STEP_COLUMNS('s')}` yields StepRow-shaped rows. */
export function STEP_COLUMNS(alias: string): string {
  const a = alias;
  return `${a}.id, ${a}.flow_id AS "flowId", ${a}.step_id AS "stepId", ${a}.position, ${a}.kind, ${a}.status, ${a}.critical,
    ${a}.depends_on AS "dependsOn", ${a}.pending_deps AS "pendingDeps", ${a}.config, ${a}.definition,
    ${a}.alternative_id AS "alternativeId", ${a}.fallback_index AS "fallbackIndex", ${a}.degradation_index AS "degradationIndex",
    ${a}.attempt, ${a}.counted_attempts AS "countedAttempts", ${a}.correction_rerun AS "correctionRerun",
    ${a}.attempts_total AS "attemptsTotal", ${a}.run, ${a}.corrections_used AS "correctionsUsed", ${a}.strategy, ${a}.quality,
    ${a}.output, ${a}.error, ${a}.last_delay_ms AS "lastDelayMs", ${a}.first_failure_at AS "firstFailureAt", ${a}.first_error_type AS "firstErrorType",
    ${a}.run_at AS "runAt", ${a}.due_action AS "dueAction", ${a}.lease_owner AS "leaseOwner",
    ${a}.lease_expires_at AS "leaseExpiresAt", ${a}.task_type AS "taskType", ${a}.task_id AS "taskId",
    ${a}.task_input AS "taskInput", ${a}.task_worker_id AS "taskWorkerId", ${a}.task_claimed_at AS "taskClaimedAt", ${a}.task_probe AS "taskProbe",
    ${a}.completion_order::text AS "completionOrder", ${a}.compensation_status AS "compensationStatus",
    ${a}.compensation_error AS "compensationError", ${a}.compensation_attempt AS "compensationAttempt",
    ${a}.started_at AS "startedAt", ${a}.finished_at AS "finishedAt"`;
}
