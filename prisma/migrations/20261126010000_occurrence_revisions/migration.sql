-- Every write to an error-occurrence bucket takes a new revision, so that a
-- replica merging all replicas' counts reads only the buckets changed since
-- its last merge, not every key in the window (a client sending ever-new
-- `component` values made that read, once a second, grow without bound).
CREATE SEQUENCE "error_occurrences_rev_seq";

ALTER TABLE "error_occurrences" ADD COLUMN "rev" BIGINT NOT NULL DEFAULT nextval('error_occurrences_rev_seq');

CREATE INDEX "error_occurrences_rev_idx" ON "error_occurrences"("rev");
