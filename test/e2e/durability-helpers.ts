// Shared pieces of the durability tests: a fresh database, the service as a
// real process, plan builders and database-side checks.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import type { TestDatabase } from '../helpers/test-database.js';

export const SERVICE_ENV = { LEASE_MS: '2000', HTTP_ALLOWED_HOSTS: '127.0.0.1', LOG_LEVEL: 'error', EXECUTOR_CONCURRENCY: '64' };

/** A stable pseudo-random share of step keys: `share(key, 5)` picks about one in five. */
export function share(key: string, oneIn: number): boolean {
  return createHash('sha256').update(key).digest()[0]! % oneIn === 0;
}

export async function service(database: TestDatabase, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const s = await startService({ ...SERVICE_ENV, DATABASE_URL: database.url, ...env });
  await s.waitReady(60_000);
  return s;
}

export function sequentialPlan(name: string, stubUrl: string, steps: number, extra: Record<string, unknown> = {}) {
  return {
    name,
    ...extra,
    steps: Array.from({ length: steps }, (_, i) => ({
      id: `s${i}`,
      kind: 'http',
      request: { method: 'POST', url: `${stubUrl}/op` },
      retry: { maxAttempts: 5, backoff: 'constant', baseDelayMs: 100, jitter: 'none' },
    })),
  };
}

/**
 * POSTs plans with bounded concurrency to whichever service `target()` names now.
 * Connection errors are retried; so are the answers in `retryStatuses` (e.g.
 * 503 while the database is down). Any other status fails the submission.
 */
export async function submitAll(target: () => string, plans: unknown[], concurrency = 16, retryStatuses: readonly number[] = []): Promise<string[]> {
  const ids: string[] = new Array(plans.length);
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const i = next++;
      for (;;) {
        try {
          const res = await fetch(`${target()}/v1/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `submit-${i}` }, body: JSON.stringify(plans[i]) });
          if (res.status === 202 || res.status === 200) {
            ids[i] = ((await res.json()) as { id: string }).id;
            break;
          }
          if (retryStatuses.includes(res.status)) {
            await res.body?.cancel();
            await new Promise((r) => setTimeout(r, 200)); // the service asked to be retried: same key
            continue;
          }
          throw new Error(`submission ${i}: ${res.status} ${await res.text()}`);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('submission')) throw error;
          await new Promise((r) => setTimeout(r, 200)); // the service is restarting: retry the same key
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

export async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

/** Waits until every flow is terminal; returns status counts. */
export async function waitTerminal(url: string, ids: string[], timeoutMs: number): Promise<Record<string, number>> {
  const started = Date.now();
  for (;;) {
    const rows = await query<{ status: string; n: number }>(url, `SELECT status, count(*)::int AS n FROM flows WHERE id = ANY($1::uuid[]) GROUP BY status`, [ids]);
    const counts = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const open = rows.filter((r) => !['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(r.status)).reduce((n, r) => n + r.n, 0);
    if (open === 0 || Date.now() - started > timeoutMs) return counts;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Flows whose event seqs are not exactly 1..n. */
export async function flowsWithSeqGaps(url: string, ids: string[]): Promise<string[]> {
  const rows = await query<{ flowId: string }>(
    url,
    `SELECT flow_id AS "flowId" FROM flow_events WHERE flow_id = ANY($1::uuid[]) GROUP BY flow_id HAVING count(*) <> max(seq) OR min(seq) <> 1`,
    [ids],
  );
  return rows.map((r) => r.flowId);
}

/** Forward attempts recorded per Idempotency-Key. */
export async function attemptsPerKey(url: string, ids: string[]): Promise<Map<string, number>> {
  const rows = await query<{ key: string; n: number }>(
    url,
    `SELECT flow_id || ':' || step_id || coalesce(':' || alternative_id, '') AS key, count(*)::int AS n FROM attempts
      WHERE flow_id = ANY($1::uuid[]) AND phase = 'forward' GROUP BY 1`,
    [ids],
  );
  return new Map(rows.map((r) => [r.key, r.n]));
}

/** When each succeeded step's success was committed, per key. */
export async function successCommits(url: string, ids: string[]): Promise<Map<string, number>> {
  const rows = await query<{ key: string; at: Date }>(
    url,
    `SELECT flow_id || ':' || step_id AS key, finished_at AS at FROM steps WHERE flow_id = ANY($1::uuid[]) AND status = 'succeeded'`,
    [ids],
  );
  return new Map(rows.map((r) => [r.key, r.at.getTime()]));
}

/** The steps of flows that are not terminal, for failure messages. */
export async function openFlowSteps(url: string, ids: string[], limit = 5): Promise<string> {
  const rows = await query<Record<string, unknown>>(
    url,
    `SELECT s.flow_id AS "flowId", s.step_id AS "stepId", s.status, s.due_action AS "dueAction", s.run_at AS "runAt", s.lease_owner AS "leaseOwner", s.attempt, s.lease_expires_at AS "leaseExpiresAt"
       FROM steps s JOIN flows f ON f.id = s.flow_id
      WHERE f.id = ANY($1::uuid[]) AND f.status NOT IN ('completed', 'completed_with_errors', 'failed', 'cancelled')
      ORDER BY s.flow_id, s.step_id LIMIT $2`,
    [ids, limit * 5],
  );
  return rows.map((r) => JSON.stringify(r)).join('\n');
}

/**
 * Raises the failure threshold of the stub's default breaker: the failing-once
 * keys would otherwise open it (five 503s in a row) and park every flow for
 * openMs, which these tests are not about.
 */
export async function relaxStubBreaker(serviceUrl: string, stubUrl: string): Promise<void> {
  const res = await fetch(`${serviceUrl}/v1/circuits/${encodeURIComponent(`http:${new URL(stubUrl).host}`)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ failureThreshold: 10_000 }),
  });
  if (res.status !== 200) throw new Error(`breaker config: ${res.status} ${await res.text()}`);
}
