// Retries whose backoff has passed, queued again in their flow's age order.
//
// A retry waits out its backoff with run_at = failure time + backoff, while
// the steps released to the claim loop carry their flow's creation time as
// run_at (becoming-due.ts), and claims take the oldest run_at first. A due
// retry of an early flow therefore waited behind the released steps of every
// flow created before its backoff ended: under a burst of new flows, most of
// the backlog. Once due, a retry takes its flow's creation time as run_at,
// like any released step, so the executor finishes older flows first.
//
// Rows are taken with SKIP LOCKED and no flow lock, so this never waits on a
// writer; a row a claim or a flow's writer holds is simply left for the next
// look (or claimed as it is, which only costs it its place).
import type { Database } from './database.js';
import { prepared } from './prepared.js';

/** At most this many retries are queued again per call. */
const REQUEUE_LIMIT = 1000;

export const REQUEUE_DUE_RETRIES = `
UPDATE steps s
   SET run_at = f.created_at, updated_at = now()
  FROM flows f
 WHERE s.id = ANY(ARRAY(
         SELECT id FROM steps
          WHERE run_at <= now() AND due_action = 'attempt' AND strategy = 'retry' AND lease_owner IS NULL AND run_at > updated_at
          ORDER BY run_at
          LIMIT $1
            FOR UPDATE SKIP LOCKED))
   AND f.id = s.flow_id`;

/** Queues due retries again at their flow's creation time; returns how many. */
export async function requeueDueRetries(db: Database): Promise<number> {
  const { rowCount } = await db.query(prepared(REQUEUE_DUE_RETRIES, [REQUEUE_LIMIT]));
  return rowCount ?? 0;
}
