-- Retries whose backoff has passed are queued again in their flow's age order
-- (store/retry-requeue.ts). Only unleased rows still waiting out a retry's
-- backoff are in this index (run_at after the row's last write; queuing
-- again takes the row out), so finding them never passes the released steps
-- that sort before them in steps_run_at_idx.
CREATE INDEX "steps_due_retries_idx" ON "steps"("run_at")
  WHERE "due_action" = 'attempt' AND "strategy" = 'retry' AND "lease_owner" IS NULL AND "run_at" > "updated_at";
