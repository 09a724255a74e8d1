-- Which run of the flow a step row belongs to: a restart adds one. Writes of an
-- attempt's outcome are conditioned on it as well as on the lease owner, so an
-- attempt still in flight from before a restart (the same process may hold the
-- restarted step's new lease) cannot settle the new run's step.
ALTER TABLE "steps" ADD COLUMN "run" INTEGER NOT NULL DEFAULT 0;
