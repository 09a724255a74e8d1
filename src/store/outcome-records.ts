// Attempt and recovery-episode rows: recorded in a FlowTx as its transitions
// run and written with the flow's other changes, as JSON arrays expanded by
// jsonb_to_recordset (one statement however many rows).

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
