-- Outgoing webhooks (a transactional outbox, delivered at least once) and the
-- columns statistics need: the rung behind each attempt and the first error
-- of a recovery episode.

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "flow_id" UUID,
    "target" TEXT NOT NULL,
    "url" TEXT,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(6),

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- AlterTable
ALTER TABLE "attempts" ADD COLUMN "strategy" TEXT;

-- AlterTable
ALTER TABLE "steps" ADD COLUMN "first_error_type" TEXT;

-- CreateIndex
CREATE INDEX "attempts_strategy_started_at_idx" ON "attempts"("strategy", "started_at");

-- CreateIndex
CREATE INDEX "recovery_episodes_ended_at_idx" ON "recovery_episodes"("ended_at");

-- AlterTable: the half-open round, so late probe answers from an earlier round are ignored.
ALTER TABLE "circuits" ADD COLUMN "probe_epoch" INTEGER NOT NULL DEFAULT 0;

-- AlterTable: the W3C traceparent of the flow's span; step attempt spans are its children.
ALTER TABLE "flows" ADD COLUMN "traceparent" TEXT;

-- AlterTable: last success and failure, so concurrent outcomes count "consecutive" failures by time.
ALTER TABLE "circuits" ADD COLUMN "last_success_at" TIMESTAMPTZ(6),
ADD COLUMN "last_failure_at" TIMESTAMPTZ(6);
