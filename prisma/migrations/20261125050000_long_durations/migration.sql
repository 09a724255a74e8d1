-- Attempt durations past 2^31 ms (24.8 days): a delay step's one attempt
-- lasts as long as its delay, and plans allow delays of up to 365 days.
-- Changing the type rewrites the attempts table (under an exclusive lock).
ALTER TABLE "attempts" ALTER COLUMN "duration_ms" TYPE BIGINT;
