// bench/w1: 1,000 flows x 5 sequential http steps against a stub in its own
// process, submitted concurrently to the service (its own process, default
// settings). Baseline in the same run: the same 5,000 calls from an in-memory
// async loop with the same retry policy and no database.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { createBenchDatabase, type BenchDatabase } from '../lib/bench-database.js';
import { forEachConcurrently } from '../lib/concurrently.js';
import { percentile } from '../lib/percentile.js';
import { submitFlow } from '../lib/submit-flow.js';
import { cpuPerUnit, startCpuCount } from '../lib/process-cpu.js';
import { SERVER_ENTRY, startProcess, type BenchProcess } from '../lib/service-process.js';

const FLOWS = Number(process.env.W1_FLOWS ?? 1000);
const STEPS = 5;
const SUBMIT_CONCURRENCY = Number(process.env.W1_SUBMIT_CONCURRENCY ?? 64);
/** W1's upstream: start it with startProcess([W1_STUB_ENTRY], {}, '/readyz'). */
export const W1_STUB_ENTRY = fileURLToPath(new URL('./stub-server.mjs', import.meta.url));
/**
 * How often the harness looks for finished flows, in ms: each look probes the
 * flows index once per unfinished flow, load on the machine under test, so
 * not too often; latencies are exact to this much.
 */
const POLL_MS = Number(process.env.W1_POLL_MS ?? 100);
/**
 * Unmeasured rounds before each measured one, on the same service (and, for
 * the loop, the same pool): a service that has just started runs W1 at about
 * 0.7 times its later speed while V8 compiles its hot paths and PostgreSQL's new backends
 * fill their caches. The first round's figures are reported too.
 */
const WARMUP_ROUNDS = Number(process.env.W1_WARMUP_ROUNDS ?? 1);
const RETRY = { maxAttempts: 3, backoff: 'exponential', baseDelayMs: 100, multiplier: 2, jitter: 'none' };

interface StubStats {
  total: number;
  keys: number;
  duplicates: number;
}

async function stubStats(url: string): Promise<StubStats> {
  return (await (await fetch(`${url}/stats`)).json()) as StubStats;
}

async function commits(db: BenchDatabase): Promise<number> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const { rows } = await c.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()');
  await c.end();
  return Number(rows[0]!.n);
}

/** The no-durability baseline: each flow's 5 calls in sequence, retried in memory. */
export async function runBaselineW1(stubUrl: string, tag: string) {
  const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });
  try {
    for (let w = 0; w < WARMUP_ROUNDS; w++) await loopRound(stubUrl, agent, `${tag}-warmup${w}`);
    return await loopRound(stubUrl, agent, tag);
  } finally {
    await agent.close();
  }
}

async function loopRound(stubUrl: string, agent: Agent, tag: string) {
  const cpuUsed = startCpuCount();
  const started = performance.now();
  const latencies: number[] = [];
  const call = async (key: string) => {
    for (let attempt = 1; ; attempt++) {
      const res = await request(`${stubUrl}/op`, { method: 'POST', body: JSON.stringify({ key }), headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await res.body.dump();
      if (res.statusCode === 200) return;
      if (attempt >= RETRY.maxAttempts) throw new Error(`gave up on ${key}`);
      await new Promise((r) => setTimeout(r, RETRY.baseDelayMs * RETRY.multiplier ** (attempt - 1)));
    }
  };
  await Promise.all(
    Array.from({ length: FLOWS }, async (_, f) => {
      const t0 = performance.now();
      for (let i = 0; i < STEPS; i++) await call(`${tag}:${f}:${i}`);
      latencies.push(performance.now() - t0);
    }),
  );
  const wall = (performance.now() - started) / 1000;
  return {
    /** CPU µs a step: the loop itself (generatorUs) and the rest of the machine (the stub, mostly); null off Linux. */
    cpuPerStep: cpuPerUnit(cpuUsed(), FLOWS * STEPS),
    wallS: wall,
    stepsPerS: (FLOWS * STEPS) / wall,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** Flow f of a W1 run: 5 sequential http steps, keys unique per tag. */
export function w1Plan(stubUrl: string, tag: string, f: number) {
  return {
    name: 'w1',
    steps: Array.from({ length: STEPS }, (_, i) => ({
      id: `s${i}`,
      kind: 'http',
      request: { method: 'POST', url: `${stubUrl}/op`, body: { key: `${tag}:${f}:${i}` } },
      retry: RETRY,
    })),
  };
}

/**
 * One W1 run against a service started for it on `database` (which may hold
 * earlier runs or other data): WARMUP_ROUNDS unmeasured rounds, then the
 * measured one. `firstRound` is the just-started service's first round.
 */
export async function runReboundW1(stubUrl: string, database: BenchDatabase, tag: string, env: Record<string, string> = {}) {
  const service = await startProcess([SERVER_ENTRY], { DATABASE_URL: database.url, HTTP_ALLOWED_HOSTS: '127.0.0.1', LOG_LEVEL: 'warn', ...env });
  try {
    const warmups = [];
    for (let w = 0; w < WARMUP_ROUNDS; w++) {
      warmups.push(await reboundRound(service, stubUrl, database, `${tag}-warmup${w}`));
      // Lets the round's last commits and notifications drain before the measured one.
      await new Promise((r) => setTimeout(r, 250));
    }
    const measured = await reboundRound(service, stubUrl, database, tag);
    return { ...measured, peakRssMiB: service.peakRss() / 1024 / 1024, firstRound: warmups[0] ?? measured };
  } finally {
    await service.stop();
  }
}

/** W1's 1,000 flows submitted to `service`, until every one is terminal. */
async function reboundRound(service: BenchProcess, stubUrl: string, database: BenchDatabase, tag: string) {
  const commitsBefore = await commits(database);
  const cpuUsed = startCpuCount(service.child.pid);
  const submitted = new Map<string, number>();
  const finished = new Map<string, number>();
  const started = performance.now();
  await forEachConcurrently(FLOWS, SUBMIT_CONCURRENCY, async (f) => {
    submitted.set(await submitFlow(service.url, w1Plan(stubUrl, tag, f)), performance.now());
  });
  const submitS = (performance.now() - started) / 1000;
  // Poll the database for terminal flows (cheap, and not through the service under test).
  const c = new pg.Client({ connectionString: database.url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    while (finished.size < FLOWS) {
      const waiting = [...submitted.keys()].filter((id) => !finished.has(id));
      const { rows } = await c.query<{ id: string; status: string }>(`SELECT id, status FROM flows WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, [waiting]);
      for (const r of rows) {
        if (r.status !== 'completed') throw new Error(`flow ${r.id} ended ${r.status}`);
        finished.set(r.id, performance.now());
      }
      if (performance.now() - started > 300_000) throw new Error(`only ${finished.size} of ${FLOWS} flows finished`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    await c.end();
  }
  const wall = (Math.max(...finished.values()) - started) / 1000;
  const cpuPerStep = cpuPerUnit(cpuUsed(), FLOWS * STEPS);
  const latencies = [...submitted].map(([id, t]) => finished.get(id)! - t);
  const commitsAfter = await commits(database);
  return {
    wallS: wall,
    submitS,
    stepsPerS: (FLOWS * STEPS) / wall,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    commitsPerStep: (commitsAfter - commitsBefore) / (FLOWS * STEPS),
    /** CPU µs a step (its flow's creation included), by process, and how busy the machine was; null off Linux. */
    cpuPerStep,
  };
}

export async function runW1(runs = Number(process.env.W1_RUNS ?? 3)) {
  const stub = await startProcess([W1_STUB_ENTRY], {}, '/readyz');
  const database = await createBenchDatabase('w1');
  try {
    const results = [];
    for (let r = 0; r < runs; r++) {
      const tag = `${Date.now()}-${r}`;
      const base = await runBaselineW1(stub.url, `base-${tag}`);
      const reb = await runReboundW1(stub.url, database, `reb-${tag}`);
      results.push({ baseline: base, rebound: reb, ratio: reb.stepsPerS / base.stepsPerS });
    }
    const median = [...results].sort((a, b) => a.rebound.stepsPerS - b.rebound.stepsPerS)[Math.floor(results.length / 2)]!;
    const stats = await stubStats(stub.url);
    return { runs: results, median, stubDuplicates: stats.duplicates, database: database.where };
  } finally {
    await database.close();
    await stub.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runW1(), null, 2));
}
