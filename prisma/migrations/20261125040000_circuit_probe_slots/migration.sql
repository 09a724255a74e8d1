-- Half-open probe slots expire one by one: when each unanswered probe was
-- admitted (epoch ms, oldest first). half_open_calls stays, as its length.
-- Nullable like every Prisma scalar list column; the service treats NULL as empty.
ALTER TABLE "circuits" ADD COLUMN "probe_slots" BIGINT[] DEFAULT ARRAY[]::BIGINT[];

-- A task step offered as a half-open probe keeps its round and slot until
-- its worker answers, so the answer frees that probe's own slot. NULL: the
-- offer was not a probe.
ALTER TABLE "steps" ADD COLUMN "task_probe" JSONB;

-- Breakers half-open right now: their probes were admitted one probe slot
-- (max(openMs, 60 s)) before next_probe_at, which is when they expired
-- before; dated so, they expire exactly as they would have.
UPDATE "circuits"
   SET "probe_slots" = array_fill(
         (EXTRACT(EPOCH FROM "next_probe_at") * 1000)::bigint - GREATEST(COALESCE(("config" ->> 'openMs')::bigint, 30000), 60000),
         ARRAY["half_open_calls"])
 WHERE "state" = 'half_open' AND "half_open_calls" > 0 AND "next_probe_at" IS NOT NULL;
