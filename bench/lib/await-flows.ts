// Waits for flows to reach a terminal state by polling the database (cheap,
// and not through the service under test).
import pg from 'pg';

/** Polls until every flow in `ids` has finished; returns each one's final status. */
export async function awaitFinishedFlows(databaseUrl: string, ids: string[], timeoutMs: number, pollMs = 50): Promise<Map<string, string>> {
  const finished = new Map<string, string>();
  const started = performance.now();
  const c = new pg.Client({ connectionString: databaseUrl });
  c.on('error', () => undefined);
  await c.connect();
  try {
    while (finished.size < ids.length) {
      const waiting = ids.filter((id) => !finished.has(id));
      const { rows } = await c.query<{ id: string; status: string }>(`SELECT id, status FROM flows WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, [waiting]);
      for (const r of rows) finished.set(r.id, r.status);
      if (finished.size === ids.length) break;
      if (performance.now() - started > timeoutMs) throw new Error(`only ${finished.size} of ${ids.length} flows finished within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await c.end();
  }
  return finished;
}
