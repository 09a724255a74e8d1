// `npm run bench`: every benchmark in turn (or those named on the command
// line: w1, loaded, timers, firing, analyze), then one table of results, each next
// to its same-run baseline and its target. BENCH_JSON=<file> also writes the
// raw results there.
import { writeFile } from 'node:fs/promises';
import { runAnalyzeBench } from './analyze/run.js';
import { runFiringOnly } from './timers/firing-only.js';
import { runTimersBench } from './timers/run.js';
import { runLoadedW1 } from './w1/loaded.js';
import { runW1 } from './w1/run.js';

const BENCHES = {
  w1: runW1,
  loaded: runLoadedW1,
  timers: runTimersBench,
  firing: runFiringOnly,
  analyze: runAnalyzeBench,
} as const;
type BenchName = keyof typeof BENCHES;

/** A row of the table: what, Rebound's figure, the baseline's, their ratio, the target and whether it was met. */
interface Row {
  measure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** null when the figure has no target. */
  met: boolean | null;
}

const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (x: number) => `${n(x)} ms`;

type Results = { [K in BenchName]?: Awaited<ReturnType<(typeof BENCHES)[K]>> };

function rows(r: Results): Row[] {
  const out: Row[] = [];
  if (r.w1) {
    const { rebound: m, baseline: b, ratio } = r.w1.median;
    out.push(
      { measure: 'W1 throughput (median of runs)', value: `${n(m.stepsPerS)} steps/s`, baseline: `${n(b.stepsPerS)} steps/s (in-memory loop)`, ratio: n(ratio, 2), target: '>= 1,500 steps/s, ratio >= 0.5', met: m.stepsPerS >= 1500 && ratio >= 0.5 },
      { measure: 'W1 flow latency p50 / p99', value: `${ms(m.p50Ms)} / ${ms(m.p99Ms)}`, baseline: `${ms(b.p50Ms)} / ${ms(b.p99Ms)}`, ratio: n(m.p99Ms / b.p99Ms, 2), target: 'p99 <= 1,500 ms', met: m.p99Ms <= 1500 },
      {
        measure: 'W1 on a just-started service (its first round), steps/s and p99',
        value: `${n(m.firstRound.stepsPerS)} steps/s, ${ms(m.firstRound.p99Ms)}`,
        baseline: '-',
        ratio: n(m.firstRound.stepsPerS / b.stepsPerS, 2),
        target: '-',
        met: null,
      },
      ...(m.cpuPerStep
        ? [
            {
              measure: 'W1 CPU per step: service / PostgreSQL / load generator / rest (machine busy)',
              value: `${n(m.cpuPerStep.serviceUs)} / ${n(m.cpuPerStep.postgresUs)} / ${n(m.cpuPerStep.generatorUs)} / ${n(m.cpuPerStep.otherUs)} µs (${n(m.cpuPerStep.machineBusy * 100)} %)`,
              baseline: b.cpuPerStep ? `loop / rest: ${n(b.cpuPerStep.generatorUs)} / ${n(b.cpuPerStep.otherUs)} µs (${n(b.cpuPerStep.machineBusy * 100)} %)` : '-',
              ratio: '-',
              target: '-',
              met: null,
            },
          ]
        : []),
      { measure: 'W1 Postgres commits per step', value: n(m.commitsPerStep, 2), baseline: '-', ratio: '-', target: '<= 1.5', met: m.commitsPerStep <= 1.5 },
      { measure: 'W1 peak service RSS', value: `${n(m.peakRssMiB)} MiB`, baseline: '-', ratio: '-', target: '<= 250 MiB', met: m.peakRssMiB <= 250 },
      { measure: 'W1 duplicate successes at the stub', value: String(r.w1.stubDuplicates), baseline: '-', ratio: '-', target: '0', met: r.w1.stubDuplicates === 0 },
    );
  }
  if (r.loaded) {
    out.push({
      measure: 'W1 with 200k finished + 100k waiting steps',
      value: `${n(r.loaded.loadedStepsPerS)} steps/s`,
      baseline: `${n(r.loaded.emptyStepsPerS)} steps/s (empty database)`,
      ratio: n(r.loaded.ratio, 2),
      target: 'ratio >= 0.8',
      met: r.loaded.target.met,
    });
  }
  if (r.timers) {
    const t = r.timers;
    out.push(
      { measure: `Timers: ${n(t.flows)} delays due within 1 s, lateness p50 / p99`, value: `${ms(t.delayLateness.p50Ms)} / ${ms(t.delayLateness.p99Ms)}`, baseline: '-', ratio: '-', target: 'p99 < 100 ms', met: t.target.met },
      ...(t.warmup
        ? [
            {
              measure: `Timers on the just-started service (its first burst): ${n(t.warmup.flows)} delays due within 1 s, lateness p50 / p99`,
              value: `${ms(t.warmup.delayLateness.p50Ms)} / ${ms(t.warmup.delayLateness.p99Ms)}`,
              baseline: '-',
              ratio: '-',
              target: '-',
              met: null,
            },
          ]
        : []),
      ...(t.httpArrivalLateness
        ? [{ measure: 'Timers: next step reaches the stub, late by p50 / p99', value: `${ms(t.httpArrivalLateness.p50Ms)} / ${ms(t.httpArrivalLateness.p99Ms)}`, baseline: '-', ratio: '-', target: '-', met: null }]
        : []),
    );
  }
  if (r.firing) {
    const f = r.firing;
    out.push({
      measure: `Timers: the bulk firing alone, bursts of ${n(f.burst)} (median after the first)`,
      value: `${n(f.timersPerS)} timers/s; CPU a timer: PostgreSQL ${f.postgresUs === null ? '-' : n(f.postgresUs)} µs, service ${f.firingUs === null ? '-' : n(f.firingUs)} µs`,
      baseline: '-',
      ratio: '-',
      target: f.coresAtAskedRate === null ? '-' : `10,000 timers/s would take ${n(f.coresAtAskedRate, 2)} cores`,
      met: null,
    });
  }
  if (r.analyze) {
    const a = r.analyze;
    out.push(
      { measure: `POST /v1/errors/analyze, ${a.enabled} patterns`, value: `${n(a.analyze.rps)} req/s`, baseline: `${n(a.baseline.rps)} req/s (bare Fastify echo)`, ratio: n(a.ratio, 2), target: 'ratio >= 0.6', met: a.ratio >= 0.6 },
      { measure: 'POST /v1/errors/analyze latency p50 / p99', value: `${ms(a.analyze.p50)} / ${ms(a.analyze.p99)}`, baseline: `${ms(a.baseline.p50)} / ${ms(a.baseline.p99)}`, ratio: '-', target: 'p99 < 10 ms', met: a.analyze.p99 < 10 },
    );
  }
  return out;
}

function table(all: Row[]): string {
  const header = ['Measure', 'Rebound', 'Baseline (same run)', 'Ratio', 'Target', 'Met'];
  const lines = all.map((row) => [row.measure, row.value, row.baseline, row.ratio, row.target, row.met === null ? '-' : row.met ? 'yes' : 'NO']);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const names = (requested.length > 0 ? requested : Object.keys(BENCHES)) as BenchName[];
const results: Results = {};
for (const name of names) {
  const started = Date.now();
  console.error(`running ${name} ...`);
  // Each benchmark's own type is kept by the Results mapping; the loop only routes them.
  (results as Record<string, unknown>)[name] = await BENCHES[name]();
  console.error(`${name} done in ${Math.round((Date.now() - started) / 1000)} s`);
}
if (process.env.BENCH_JSON) await writeFile(process.env.BENCH_JSON, JSON.stringify(results, null, 2));
console.log(table(rows(results)));
