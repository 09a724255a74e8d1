-- Half-open probe slots expire one by one: when each unanswered probe was
-- admitted (epoch ms, oldest first). half_open_calls stays, as its length.
-- Nullable like every Prisma scalar list column; the service treats NULL as empty.
ALTER TABLE "circuits" ADD COLUMN "probe_slots" BIGINT[] DEFAULT ARRAY[]::BIGINT[];

-- Breakers half-open right now: their probes' admission times are unknown.
-- Date them now, so they expire no sooner than before (never more probes).
UPDATE "circuits"
   SET "probe_slots" = array_fill((EXTRACT(EPOCH FROM now()) * 1000)::bigint, ARRAY["half_open_calls"])
 WHERE "state" = 'half_open' AND "half_open_calls" > 0;
