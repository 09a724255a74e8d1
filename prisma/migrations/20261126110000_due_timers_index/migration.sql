-- Due timers are looked up apart from the steps due for an attempt. A burst
-- of fired timers releases their next steps with their flows' creation time
-- as run_at (oldest flows first, see becoming-due.ts), which sorts them
-- before every timer still to fire: each look for due timers by
-- steps_run_at_idx passed them all, 50-116 ms a look with 10,000 released
-- steps (auto_explain, timers benchmark). Only rows parked on a timer are in
-- this index.
CREATE INDEX "steps_due_timers_idx" ON "steps"("run_at") WHERE "due_action" = 'timer';
