-- The error-pattern registry's version (bumped in the same transaction as any
-- pattern change, so a replica that sees a new version also sees the change)
-- and the built-in patterns. Built-ins can be disabled, not deleted.

-- CreateTable
CREATE TABLE "pattern_registry" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 1,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pattern_registry_pkey" PRIMARY KEY ("id")
);

INSERT INTO "pattern_registry" ("id", "version") VALUES (1, 1);

INSERT INTO "error_patterns" ("id", "name", "regex", "match_on", "error_type", "severity", "retryable", "recommended_strategy", "priority", "enabled", "builtin") VALUES
  ('builtin-timeout', 'Timeouts', '(?i)(\btimed? ?out\b|\btimeout\b|deadline exceeded|ETIMEDOUT|ESOCKETTIMEDOUT)', 'any', 'timeout', 'medium', true, 'retry', 100, true, true),
  ('builtin-connection-refused', 'Connection refused', '(?i)(ECONNREFUSED|connection refused)', 'any', 'network', 'medium', true, 'retry', 110, true, true),
  ('builtin-connection-reset', 'Connection reset', '(?i)(ECONNRESET|connection reset|socket hang up|EPIPE|broken pipe)', 'any', 'network', 'medium', true, 'retry', 110, true, true),
  ('builtin-dns-failure', 'DNS failure', '(?i)(ENOTFOUND|EAI_AGAIN|getaddrinfo|name resolution|could not resolve host|dns lookup failed)', 'any', 'network', 'high', true, 'retry', 110, true, true),
  ('builtin-rate-limited', 'Rate limiting', '(?i)(rate.?limit|too many requests|throttl|quota exceeded)', 'any', 'rate_limited', 'low', true, 'retry', 100, true, true),
  ('builtin-service-unavailable', 'Service unavailable', '(?i)(service unavailable|temporarily unavailable|bad gateway|gateway time-?out|overloaded|under maintenance)', 'any', 'unavailable', 'high', true, 'retry', 90, true, true),
  ('builtin-validation', 'Validation and schema errors', '(?i)(validation (error|failed)|invalid (input|argument|parameter|request|payload|format)|schema (error|violation|mismatch)|malformed|bad request|unprocessable)', 'any', 'validation', 'medium', false, 'correct', 80, true, true),
  ('builtin-auth', 'Authentication and authorization failures', '(?i)(unauthori[sz]ed|forbidden|permission denied|access denied|invalid (token|credentials|api key)|authentication failed|token expired)', 'any', 'auth', 'high', false, 'escalate', 100, true, true),
  ('builtin-not-found', 'Not found', '(?i)(not found|no such (file|resource|key|user)|does not exist|ENOENT)', 'any', 'not_found', 'medium', false, 'fallback', 70, true, true),
  ('builtin-conflict', 'Conflicts', '(?i)(conflict|already exists|duplicate key|version mismatch|concurrent modification)', 'any', 'conflict', 'medium', false, 'none', 70, true, true),
  ('builtin-insufficient-funds', 'Insufficient funds or liquidity', '(?i)(insufficient (funds|balance|liquidity)|not enough (funds|balance|liquidity)|liquidity (too low|exhausted))', 'any', 'resource_exhausted', 'high', false, 'degrade', 120, true, true),
  ('builtin-slippage', 'Slippage', '(?i)(slippage|price impact too high|price moved)', 'any', 'validation', 'medium', false, 'correct', 120, true, true),
  ('builtin-quorum', 'Quorum or consensus failure', '(?i)(quorum|consensus (failure|failed|not reached)|not enough (replicas|nodes|votes)|split.?brain)', 'any', 'unavailable', 'critical', true, 'retry', 120, true, true),
  ('builtin-out-of-memory', 'Out of memory', '(?i)(out of memory|\bOOM\b|heap out of memory|ENOMEM|cannot allocate memory|memory exhausted)', 'any', 'resource_exhausted', 'fatal', false, 'escalate', 150, true, true);
