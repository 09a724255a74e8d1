-- Task ids a restart took off its steps. A worker can still hold such a task
-- (claimed, never answered, its flow cancelled or failed meanwhile): no step
-- row names it any more and no attempt row carries its id, yet its answer is a
-- lost lease (409), not an unknown task (404). Looked up by task id only when
-- an answer or heartbeat is refused.

-- CreateTable
CREATE TABLE "superseded_tasks" (
    "task_id" UUID NOT NULL,
    "flow_id" UUID NOT NULL,
    "step_id" TEXT NOT NULL,
    "superseded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "superseded_tasks_pkey" PRIMARY KEY ("task_id")
);

-- CreateIndex: the foreign key's cascade finds a flow's rows without a scan.
CREATE INDEX "superseded_tasks_flow_id_idx" ON "superseded_tasks"("flow_id");

-- AddForeignKey
ALTER TABLE "superseded_tasks" ADD CONSTRAINT "superseded_tasks_flow_id_fkey" FOREIGN KEY ("flow_id") REFERENCES "flows"("id") ON DELETE CASCADE ON UPDATE CASCADE;
