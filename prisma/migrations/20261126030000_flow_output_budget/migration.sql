-- Bytes of the flow's large step outputs (64 KiB or more each), reserved as
-- each is stored: a flow's outputs are bounded (src/store/output-budget.ts),
-- so a flow, and GET /v1/flows/{id} (which holds every output twice), stays
-- bounded too. Reset from the kept outputs when the flow restarts.
ALTER TABLE "flows" ADD COLUMN "large_output_bytes" BIGINT NOT NULL DEFAULT 0;
