// bench/timers/firing-only: the bulk firing of due timers alone, as fast as
// it goes, to show its ceiling and what a timer costs. Flows (a delay step,
// then an http step it releases) are created through the service with its
// executor off; the service then stops and this process fires their timers
// with the executor's own function and settings (fireDueTimers, TIMER_BATCH
// per transaction, TIMER_FIRINGS transactions at once), in bursts of
// FIRING_BURST timers made due at once. Nothing else runs, so PostgreSQL's
// CPU and this process's are the firing's own.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createBenchDatabase } from '../lib/bench-database.js';
import { forEachConcurrently } from '../lib/concurrently.js';
import { percentile } from '../lib/percentile.js';
import { cpuPerUnit, startCpuCount } from '../lib/process-cpu.js';
import { SERVER_ENTRY, startProcess } from '../lib/service-process.js';
import { submitFlow } from '../lib/submit-flow.js';
import { TIMER_BATCH, TIMER_FIRINGS } from '../../src/executor/executor.js';
import { createLogger } from '../../src/logger.js';
import { createDatabase } from '../../src/store/database.js';
import { fireDueTimers } from '../../src/store/timer-firing.js';

/** Timers fired per burst. */
const BURST = Number(process.env.FIRING_BURST ?? 2000);
/** Bursts; the first runs on cold code and new connections and is reported apart. */
const BURSTS = Number(process.env.FIRING_BURSTS ?? 5);
const SUBMIT_CONCURRENCY = 64;
/** The rate the timers benchmark asks for: 10,000 timers due within one second. */
const ASKED_PER_S = 10_000;

/** A flow whose delay will not come due by itself during the benchmark. */
function plan(i: number) {
  return {
    name: 'firing',
    steps: [
      { id: 'wait', kind: 'delay', delayMs: 3_600_000 },
      { id: 'hit', kind: 'http', request: { method: 'POST', url: 'http://127.0.0.1:9/hit', body: { key: String(i) } } },
    ],
  };
}

interface Burst {
  fired: number;
  ms: number;
  timersPerS: number;
  /** CPU µs a timer: PostgreSQL's, and the firing code's in this process; null off Linux. */
  postgresUs: number | null;
  firingUs: number | null;
}

async function createFlows(databaseUrl: string, count: number): Promise<void> {
  const service = await startProcess([SERVER_ENTRY], { DATABASE_URL: databaseUrl, HTTP_ALLOWED_HOSTS: '127.0.0.1', LOG_LEVEL: 'warn', EXECUTOR_ENABLED: 'false' });
  try {
    await forEachConcurrently(count, SUBMIT_CONCURRENCY, async (i) => {
      await submitFlow(service.url, plan(i));
    });
  } finally {
    await service.stop();
  }
}

export async function runFiringOnly() {
  const database = await createBenchDatabase('firing');
  try {
    await createFlows(database.url, BURST * BURSTS);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const db = createDatabase({ url: database.url, logger: createLogger('silent'), minIdle: TIMER_FIRINGS });
    try {
      await db.openIdleConnections();
      const bursts: Burst[] = [];
      for (let b = 0; b < BURSTS; b++) {
        // BURST parked timers due at once, a second ago.
        await admin.query(
          `UPDATE steps s SET run_at = now() - interval '1 second'
             FROM (SELECT id FROM steps WHERE due_action = 'timer' AND run_at > now() ORDER BY id LIMIT $1) due
            WHERE s.id = due.id`,
          [BURST],
        );
        const cpuUsed = startCpuCount();
        const started = performance.now();
        let fired = 0;
        // TIMER_FIRINGS firings at once, each firing again until it finds no due timer.
        await Promise.all(
          Array.from({ length: TIMER_FIRINGS }, async () => {
            for (;;) {
              const result = await fireDueTimers(db, 'bench-firing', TIMER_BATCH);
              if (result.locked === 0) return;
              fired += result.fired;
            }
          }),
        );
        const ms = performance.now() - started;
        if (fired !== BURST) throw new Error(`fired ${fired} of ${BURST} timers`);
        const cpu = cpuPerUnit(cpuUsed(), fired);
        bursts.push({ fired, ms, timersPerS: (fired * 1000) / ms, postgresUs: cpu?.postgresUs ?? null, firingUs: cpu?.generatorUs ?? null });
      }
      const warm = bursts.slice(1);
      const median = (pick: (x: Burst) => number | null) => {
        const values = warm.map(pick).filter((v): v is number => v !== null);
        return values.length > 0 ? percentile(values, 50) : null;
      };
      const postgresUs = median((x) => x.postgresUs);
      const firingUs = median((x) => x.firingUs);
      return {
        burst: BURST,
        firstBurst: bursts[0],
        bursts,
        /** Medians of the bursts after the first. */
        timersPerS: median((x) => x.timersPerS)!,
        postgresUs,
        firingUs,
        /** CPU cores the firing alone would take at 10,000 timers a second. */
        coresAtAskedRate: postgresUs !== null && firingUs !== null ? ((postgresUs + firingUs) * ASKED_PER_S) / 1e6 : null,
        database: database.where,
      };
    } finally {
      await db.close();
      await admin.end();
    }
  } finally {
    await database.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runFiringOnly(), null, 2));
}
