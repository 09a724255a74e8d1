// bench/analyze: requests/s and latency of POST /v1/errors/analyze with 200
// enabled error patterns, against a bare Fastify route echoing the same JSON,
// both as their own processes, measured by autocannon in this process.
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { createBenchDatabase } from '../lib/bench-database.js';
import { SERVER_ENTRY, startProcess } from '../lib/service-process.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
/** Alternating rounds per target; medians are reported (this machine is noisy). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PATTERNS = 200;

const body = JSON.stringify({
  message: 'upstream request to ledger-service timed out after 3000 ms while reserving funds',
  code: 'ETIMEDOUT',
  component: 'payments',
  context: { orderId: 'o-123', attempt: 2 },
});

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string): Promise<Measure> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

/** The round with the median requests/s. */
function median(runs: Measure[]): Measure {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;
}

async function addPatterns(base: string, count: number): Promise<number> {
  const builtins = ((await (await fetch(`${base}/v1/error-patterns?limit=500`)).json()) as { items: unknown[] }).items.length;
  for (let i = builtins; i < count; i++) {
    const res = await fetch(`${base}/v1/error-patterns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `bench-${i}`, name: `bench ${i}`, regex: `(?i)component-${i} failed with code E${i}\\b`, matchOn: 'any', errorType: 'internal', priority: i % 1000 }),
    });
    if (res.status !== 201) throw new Error(`creating pattern ${i}: ${res.status} ${await res.text()}`);
  }
  return ((await (await fetch(`${base}/v1/error-patterns?enabled=true&limit=500`)).json()) as { items: unknown[] }).items.length;
}

export async function runAnalyzeBench() {
  const database = await createBenchDatabase('analyze');
  const bare = await startProcess([fileURLToPath(new URL('./bare-echo-server.mjs', import.meta.url))], {});
  const service = await startProcess([SERVER_ENTRY], { DATABASE_URL: database.url, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' });
  try {
    const enabled = await addPatterns(service.url, PATTERNS);
    await new Promise((r) => setTimeout(r, 1500)); // registry reload
    await load(`${bare.url}/echo`); // warm-up both
    await load(`${service.url}/v1/errors/analyze`);
    const baselines: Measure[] = [];
    const analyses: Measure[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      baselines.push(await load(`${bare.url}/echo`));
      analyses.push(await load(`${service.url}/v1/errors/analyze`));
    }
    const baseline = median(baselines);
    const analyze = median(analyses);
    return { enabled, baseline, analyze, ratio: analyze.rps / baseline.rps, rounds: ROUNDS, database: database.where, durationS: DURATION_S, connections: CONNECTIONS };
  } finally {
    await service.stop();
    await bare.stop();
    await database.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runAnalyzeBench();
  console.log(JSON.stringify(r, null, 2));
}
