// Attempt and recovery-episode rows, and retries decided in a group commit:
// recorded in a FlowTx as its transitions run and written with the flow's
// other changes, as JSON arrays expanded by jsonb_to_recordset (one statement
// however many rows).
import { idsListedIn } from './sql/listed-ids.js';

/** An attempt row, written with the flow's other changes. */
export interface AttemptRecord {
  id: string;
  step_row_id: string;
  flow_id: string;
  step_id: string;
  phase: string;
  alternative_id: string | null;
  number: number;
  outcome: string;
  error: unknown;
  executed_by: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  strategy: string | null;
}

/** A recovery episode row (a step's first failure to its resolution), written with the flow's other changes. */
export interface EpisodeRecord {
  id: string;
  flow_id: string;
  step_id: string;
  strategy: string;
  error_type: string;
  attempts: number;
  outcome: string;
  started_at: string;
}

/** `INSERT INTO attempts` of the AttemptRecords in parameter `$param` (a JSON array). */
export function insertAttempts(param: number): string {
  return `INSERT INTO attempts (id, step_row_id, flow_id, step_id, phase, alternative_id, number, outcome, error, executed_by, started_at, finished_at, duration_ms, strategy)
     SELECT a.id, a.step_row_id, a.flow_id, a.step_id, a.phase, a.alternative_id, a.number, a.outcome, a.error, a.executed_by,
            a.started_at, a.finished_at, a.duration_ms, a.strategy
       FROM jsonb_to_recordset($${param}::jsonb) AS a(id uuid, step_row_id uuid, flow_id uuid, step_id text, phase text, alternative_id text, number int,
            outcome text, error jsonb, executed_by text, started_at timestamptz, finished_at timestamptz, duration_ms bigint, strategy text)`;
}


/** `INSERT INTO recovery_episodes` of the EpisodeRecords in parameter `$param` (a JSON array), ended now. */
export function insertEpisodes(param: number): string {
  return `INSERT INTO recovery_episodes (id, flow_id, step_id, strategy, error_type, attempts, outcome, started_at, ended_at)
     SELECT e.id, e.flow_id, e.step_id, e.strategy, e.error_type, e.attempts, e.outcome, e.started_at, now()
       FROM jsonb_to_recordset($${param}::jsonb) AS e(id uuid, flow_id uuid, step_id text, strategy text, error_type text,
            attempts int, outcome text, started_at timestamptz)`;
}

/**
 * A failed attempt's step write when the ladder decided to retry, deferred
 * to the batch's one statement (see FlowTx.deferRetries). Conditioned on
 * `owner` still holding the lease.
 */
export interface RetryRecord {
  id: string;
  owner: string;
  attempt: number;
  counted: number;
  first_failure_at: string;
  error: unknown;
  /** Attempts this failure adds to attempts_total. */
  inc: number;
  /** The run the step was read in. */
  run: number;
  delay_ms: number;
  last_delay_ms: number | null;
}

/** `UPDATE steps` scheduling the RetryRecords in parameter `$param` (a JSON array); returns the ids written. */
export function updateRetries(param: number): string {
  return `UPDATE steps s
       SET attempt = i.attempt, counted_attempts = i.counted, first_failure_at = i.first_failure_at, error = i.error,
           attempts_total = s.attempts_total + i.inc, first_error_type = COALESCE(s.first_error_type, i.error->>'errorType'),
           lease_owner = NULL, lease_expires_at = NULL, task_id = NULL,
           status = 'scheduled', due_action = 'attempt', run_at = now() + i.delay_ms * interval '1 millisecond',
           correction_rerun = false, last_delay_ms = i.last_delay_ms, strategy = 'retry', updated_at = now()
      FROM jsonb_to_recordset($${param}::jsonb) AS i(id uuid, owner text, attempt int, counted int, first_failure_at timestamptz,
           error jsonb, inc int, delay_ms bigint, last_delay_ms bigint, run int)
     WHERE s.id = ANY(${idsListedIn(param)}) AND s.id = i.id AND s.lease_owner = i.owner AND s.run = i.run
    RETURNING s.id`;
}
