-- Storage tuned for the executor's hot path (see bench/README.md).
--
-- A step row is updated several times in its life (claimed, completed, its
-- dependents released). With the large JSON columns (config, definition,
-- output) stored inline every update copies them; toast_tuple_target = 256
-- moves them out of line once a row passes 256 bytes, so an update copies a
-- pointer. Flows get the same for plan and input.
ALTER TABLE "steps" SET (toast_tuple_target = 256);
ALTER TABLE "flows" SET (toast_tuple_target = 256);

-- Only rows with something due are in the claim index; finished steps
-- (most of the table) leave it. Prisma's schema cannot express partial
-- indexes: these replace the plain indexes of the same names.
DROP INDEX "steps_run_at_idx";
CREATE INDEX "steps_run_at_idx" ON "steps"("run_at") WHERE "run_at" IS NOT NULL;

DROP INDEX "steps_task_type_due_action_idx";
CREATE INDEX "steps_task_type_due_action_idx" ON "steps"("task_type", "due_action") WHERE "due_action" = 'task_wait';

-- Nothing reads attempts by finish time; one index less per attempt written.
DROP INDEX "attempts_finished_at_idx";
