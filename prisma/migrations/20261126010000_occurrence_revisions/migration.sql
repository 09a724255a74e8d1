-- Every write to an error-occurrence bucket takes a new revision, so that a
-- replica merging all replicas' counts reads only the buckets changed since
-- its last merge, not every key in the window (a client sending ever-new
-- `component` values made that read, once a second, grow without bound).
CREATE SEQUENCE "error_occurrences_rev_seq";

ALTER TABLE "error_occurrences" ADD COLUMN "rev" BIGINT NOT NULL DEFAULT nextval('error_occurrences_rev_seq');

CREATE INDEX "error_occurrences_rev_idx" ON "error_occurrences"("rev");

-- Every update takes a new revision too, whoever writes it (during a rolling
-- upgrade, replicas that predate this column keep upserting counts).
CREATE FUNCTION "error_occurrences_next_rev"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.rev := nextval('error_occurrences_rev_seq');
  RETURN NEW;
END;
$$;

CREATE TRIGGER "error_occurrences_next_rev" BEFORE UPDATE ON "error_occurrences"
  FOR EACH ROW EXECUTE FUNCTION "error_occurrences_next_rev"();
