// Task ids a restart takes off its steps. A worker may still hold one of those
// tasks (claimed before the flow was cancelled or failed, never answered, so
// no attempt row carries its id): its late answer or heartbeat is a lost lease
// (409), not an unknown task (404). Kept here because the step row forgets the
// id at the restart and the next claim gives the step a new one.
import type { Queryable } from './database.js';

/** Records the task ids that the steps `stepIds` of `flowId` hold, before a restart clears them. */
export async function recordSupersededTasks(client: Queryable, flowId: string, stepIds: string[]): Promise<void> {
  await client.query(
    `INSERT INTO superseded_tasks (task_id, flow_id, step_id)
     SELECT task_id, flow_id, step_id FROM steps
      WHERE flow_id = $1 AND step_id = ANY($2::text[]) AND task_id IS NOT NULL
     ON CONFLICT (task_id) DO NOTHING`,
    [flowId, stepIds],
  );
}
