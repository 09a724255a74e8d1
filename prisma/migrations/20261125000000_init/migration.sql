-- Rebound's initial schema: flows, their steps (also the executor's work
-- queue), attempts, the event log, escalations, error patterns, circuit
-- breakers and the statistics tables. Names follow Prisma's conventions so
-- that `prisma migrate diff` against prisma/schema.prisma stays quiet.

-- CreateTable
CREATE TABLE "flows" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "labels" JSONB NOT NULL,
    "plan" JSONB NOT NULL,
    "quality" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "error" JSONB,
    "notify" JSONB,
    "deadline_at" TIMESTAMPTZ(6),
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "created_by" TEXT,
    "trace_id" TEXT,
    "event_seq" INTEGER NOT NULL DEFAULT 0,
    "steps_remaining" INTEGER NOT NULL,
    "steps_failed" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "flows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "steps" (
    "id" UUID NOT NULL,
    "flow_id" UUID NOT NULL,
    "step_id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "critical" BOOLEAN NOT NULL,
    "depends_on" TEXT[],
    "pending_deps" INTEGER NOT NULL,
    "config" JSONB NOT NULL,
    "definition" JSONB NOT NULL,
    "alternative_id" TEXT,
    "fallback_index" INTEGER NOT NULL DEFAULT 0,
    "degradation_index" INTEGER NOT NULL DEFAULT 0,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "counted_attempts" INTEGER NOT NULL DEFAULT 0,
    "correction_rerun" BOOLEAN NOT NULL DEFAULT false,
    "attempts_total" INTEGER NOT NULL DEFAULT 0,
    "corrections_used" JSONB NOT NULL DEFAULT '{}',
    "strategy" TEXT,
    "quality" DOUBLE PRECISION,
    "output" JSONB,
    "error" JSONB,
    "last_delay_ms" INTEGER,
    "first_failure_at" TIMESTAMPTZ(6),
    "run_at" TIMESTAMPTZ(6),
    "due_action" TEXT,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(6),
    "task_type" TEXT,
    "task_id" UUID,
    "task_input" JSONB,
    "task_worker_id" TEXT,
    "task_claimed_at" TIMESTAMPTZ(6),
    "completion_order" BIGINT,
    "compensation_status" TEXT,
    "compensation_error" JSONB,
    "compensation_attempt" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "steps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attempts" (
    "id" UUID NOT NULL,
    "step_row_id" UUID NOT NULL,
    "flow_id" UUID NOT NULL,
    "step_id" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "alternative_id" TEXT,
    "number" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "error" JSONB,
    "executed_by" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "finished_at" TIMESTAMPTZ(6) NOT NULL,
    "duration_ms" INTEGER NOT NULL,

    CONSTRAINT "attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "flow_events" (
    "flow_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "step_id" TEXT,
    "data" JSONB NOT NULL,

    CONSTRAINT "flow_events_pkey" PRIMARY KEY ("flow_id","seq")
);

-- CreateTable
CREATE TABLE "escalations" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "flow_id" UUID NOT NULL,
    "step_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "message" TEXT,
    "error" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "allowed_actions" TEXT[],
    "on_timeout" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6),
    "resolved_at" TIMESTAMPTZ(6),
    "resolution" JSONB,
    "resolved_by" TEXT,

    CONSTRAINT "escalations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "error_patterns" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "regex" TEXT NOT NULL,
    "match_on" TEXT NOT NULL,
    "error_type" TEXT,
    "severity" TEXT,
    "retryable" BOOLEAN,
    "recommended_strategy" TEXT,
    "priority" INTEGER NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "builtin" BOOLEAN NOT NULL DEFAULT false,
    "updated_by" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "error_patterns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "circuits" (
    "key" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'closed',
    "config" JSONB,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "window_calls" INTEGER NOT NULL DEFAULT 0,
    "window_failures" INTEGER NOT NULL DEFAULT 0,
    "window_started_at" TIMESTAMPTZ(6),
    "half_open_calls" INTEGER NOT NULL DEFAULT 0,
    "half_open_successes" INTEGER NOT NULL DEFAULT 0,
    "opened_at" TIMESTAMPTZ(6),
    "next_probe_at" TIMESTAMPTZ(6),
    "forced" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "circuits_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "error_occurrences" (
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "bucket_start" TIMESTAMPTZ(6) NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "error_occurrences_pkey" PRIMARY KEY ("scope","key","bucket_start")
);

-- CreateTable
CREATE TABLE "recovery_episodes" (
    "id" UUID NOT NULL,
    "flow_id" UUID NOT NULL,
    "step_id" TEXT NOT NULL,
    "strategy" TEXT NOT NULL,
    "error_type" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "outcome" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "ended_at" TIMESTAMPTZ(6),

    CONSTRAINT "recovery_episodes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "flows_idempotency_key_key" ON "flows"("idempotency_key");

-- CreateIndex
CREATE INDEX "flows_status_created_at_idx" ON "flows"("status", "created_at");

-- CreateIndex
CREATE INDEX "flows_name_created_at_idx" ON "flows"("name", "created_at");

-- CreateIndex
CREATE INDEX "flows_created_at_id_idx" ON "flows"("created_at", "id");

-- CreateIndex
CREATE INDEX "flows_deadline_at_idx" ON "flows"("deadline_at");

-- CreateIndex
CREATE UNIQUE INDEX "steps_flow_id_step_id_key" ON "steps"("flow_id", "step_id");

-- CreateIndex
CREATE UNIQUE INDEX "steps_task_id_key" ON "steps"("task_id");

-- CreateIndex
CREATE INDEX "steps_run_at_idx" ON "steps"("run_at");

-- CreateIndex
CREATE INDEX "steps_task_type_due_action_idx" ON "steps"("task_type", "due_action");

-- CreateIndex
CREATE INDEX "attempts_step_row_id_started_at_idx" ON "attempts"("step_row_id", "started_at");

-- CreateIndex
CREATE INDEX "attempts_finished_at_idx" ON "attempts"("finished_at");

-- CreateIndex
CREATE INDEX "escalations_status_created_at_idx" ON "escalations"("status", "created_at");

-- CreateIndex
CREATE INDEX "escalations_flow_id_idx" ON "escalations"("flow_id");

-- CreateIndex
CREATE INDEX "escalations_expires_at_idx" ON "escalations"("expires_at");

-- CreateIndex
CREATE INDEX "error_occurrences_bucket_start_idx" ON "error_occurrences"("bucket_start");

-- CreateIndex
CREATE INDEX "recovery_episodes_started_at_idx" ON "recovery_episodes"("started_at");

-- AddForeignKey
ALTER TABLE "steps" ADD CONSTRAINT "steps_flow_id_fkey" FOREIGN KEY ("flow_id") REFERENCES "flows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "attempts" ADD CONSTRAINT "attempts_step_row_id_fkey" FOREIGN KEY ("step_row_id") REFERENCES "steps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "flow_events" ADD CONSTRAINT "flow_events_flow_id_fkey" FOREIGN KEY ("flow_id") REFERENCES "flows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "escalations" ADD CONSTRAINT "escalations_flow_id_fkey" FOREIGN KEY ("flow_id") REFERENCES "flows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The completion order of steps, compensated in reverse.
CREATE SEQUENCE "step_completion_order_seq";
