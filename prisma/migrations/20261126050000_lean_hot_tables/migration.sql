-- Less work per row on the executor's hot path (see bench/README.md).
--
-- The two append-only logs lose their foreign keys. Each checked every row
-- inserted with a lookup and a KEY SHARE lock of its parent: a quarter of the
-- time of the statement that writes a batch of outcomes (EXPLAIN ANALYZE of
-- 500 fired timers: 8.4 of 33 ms in the constraint triggers). Their rows are
-- only written by the transaction that holds their flow locked, and nothing
-- deletes flows or steps; an operator deleting a flow by hand deletes its
-- flow_events and attempts rows too (README, "Storage").
ALTER TABLE "flow_events" DROP CONSTRAINT "flow_events_flow_id_fkey";
ALTER TABLE "attempts" DROP CONSTRAINT "attempts_step_row_id_fkey";

-- Columns that are NULL in nearly every row are indexed only where they are
-- not: a row version written with a NULL there no longer adds an index entry.
-- Every query on them names a value (or IS NOT NULL), so the partial indexes
-- serve them; ON CONFLICT (idempotency_key) names the predicate.
DROP INDEX "flows_idempotency_key_key";
CREATE UNIQUE INDEX "flows_idempotency_key_key" ON "flows"("idempotency_key") WHERE "idempotency_key" IS NOT NULL;

DROP INDEX "flows_deadline_at_idx";
CREATE INDEX "flows_deadline_at_idx" ON "flows"("deadline_at") WHERE "deadline_at" IS NOT NULL;

DROP INDEX "steps_task_id_key";
CREATE UNIQUE INDEX "steps_task_id_key" ON "steps"("task_id") WHERE "task_id" IS NOT NULL;

DROP INDEX "attempts_strategy_started_at_idx";
CREATE INDEX "attempts_strategy_started_at_idx" ON "attempts"("strategy", "started_at") WHERE "strategy" IS NOT NULL;

-- A flow row is updated with every batch of its steps' outcomes, none of
-- which changes an indexed column until the flow ends. Room left on each
-- page lets those updates be HOT (no new index entries); with full pages
-- every one moved the row and added an entry to each of its six indexes.
ALTER TABLE "flows" SET (fillfactor = 80);
