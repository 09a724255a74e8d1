// bench/timers: 10,000 flows, each a `delay` step then an http step to a stub
// in its own process, against the service (its own process, default
// settings). Every flow is submitted first, with a delay aimed at a due time
// spread uniformly over one 1-second window TIMERS_LEAD_MS after the start.
// A root delay is parked by the statement that creates its flow, so its
// run_at is the planned due time plus the few ms between the client
// computing delayMs and the flow's creation (`parkingLag`); every timer falls
// due inside the window. (TIMERS_ALIGN=1 moves them to the planned due times
// exactly, as earlier versions had to when a delay ran from when an executor
// parked it.)
// Lateness of a timer = when its delay step completed (its `step.succeeded`
// event, committed with the step) minus its run_at. Secondary figures: when
// the executor took the timer up (the attempt's finished_at) and when the
// next step's http call reached the stub.
// The same service first fires an unmeasured burst of TIMERS_WARMUP_FLOWS
// timers the same way (reported as `warmup`), so the measured burst meets
// compiled code and warm connections, as a running service would.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createBenchDatabase } from '../lib/bench-database.js';
import { awaitFinishedFlows } from '../lib/await-flows.js';
import { forEachConcurrently } from '../lib/concurrently.js';
import { percentile } from '../lib/percentile.js';
import { SERVER_ENTRY, startProcess } from '../lib/service-process.js';
import { submitFlow } from '../lib/submit-flow.js';

const FLOWS = Number(process.env.TIMERS_FLOWS ?? 10_000);
/**
 * From the start of submission to the first due time, in ms: long enough to
 * submit and park every flow. Defaults to 10 s + 8 ms a flow (90 s for
 * 10,000; submission ran at 130-180 flows/s on a busy 2-core machine).
 */
const leadMsFor = (flows: number) => 10_000 + 8 * flows;
const LEAD_MS = Number(process.env.TIMERS_LEAD_MS ?? leadMsFor(FLOWS));
/**
 * Timers of an unmeasured round first, on the same service: a service that
 * has never fired a timer compiles its firing and http paths, and its new
 * PostgreSQL backends fill their caches, during the first burst. 0 measures
 * the just-started service.
 */
const WARMUP_FLOWS = Number(process.env.TIMERS_WARMUP_FLOWS ?? 2000);

/** One burst: `flows` timers due over one window `leadMs` after submission starts; stub keys `${prefix}:${i}`. */
interface Round {
  flows: number;
  leadMs: number;
  prefix: string;
}
/** Width of the window the due times are spread over uniformly, in ms. */
const WINDOW_MS = 1000;
const SUBMIT_CONCURRENCY = Number(process.env.TIMERS_SUBMIT_CONCURRENCY ?? 64);
/**
 * Every timer must be parked this long before the first due time, in ms: the
 * executor sleeps at most 1 s between reads of the next due time, so after
 * that it has seen the aligned run_at values.
 */
const ALIGN_BEFORE_MS = 2000;
/** A submission this close to its flow's due time, in ms, means TIMERS_LEAD_MS is too short (parking may lag seconds). */
const MIN_DELAY_MS = ALIGN_BEFORE_MS + 5000;
/**
 * Whether parked timers are moved to their planned due times (see
 * alignTimers); by default lateness is measured against run_at as parked.
 */
const ALIGN = process.env.TIMERS_ALIGN === '1';
/** After the last due time, how long the flows may take to finish, in ms. */
const FINISH_TIMEOUT_MS = 120_000;
/** How often to look for finished flows once the window has passed, in ms. */
const FINISHED_POLL_MS = 500;
/** The target: 99th percentile of lateness, in ms. */
const TARGET_P99_MS = 100;

/** TIMERS_ONLY=1: flows of the delay step alone, to see the timers without the work they release. */
const ONLY_TIMERS = process.env.TIMERS_ONLY === '1';

function plan(stubUrl: string, key: string, delayMs: number) {
  return {
    name: 'timers',
    steps: [
      { id: 'wait', kind: 'delay', delayMs },
      ...(ONLY_TIMERS ? [] : [{ id: 'hit', kind: 'http', request: { method: 'POST', url: `${stubUrl}/hit`, body: { key } } }]),
    ],
  };
}

/** Submits flow i with a delay ending at dueAt(i); returns the flow ids by i. */
async function submitAll(serviceUrl: string, stubUrl: string, round: Round, dueAt: (i: number) => number): Promise<string[]> {
  const ids: string[] = new Array<string>(round.flows);
  await forEachConcurrently(round.flows, SUBMIT_CONCURRENCY, async (i) => {
    const delayMs = Math.round(dueAt(i) - Date.now());
    if (delayMs < MIN_DELAY_MS) throw new Error(`submission ${i} came ${delayMs} ms before its due time: raise TIMERS_LEAD_MS (now ${round.leadMs})`);
    ids[i] = await submitFlow(serviceUrl, plan(stubUrl, `${round.prefix}:${i}`, delayMs));
  });
  return ids;
}

/**
 * Waits until every delay step is parked on its timer (unleased, run_at in
 * the future); returns run_at by flow id, in epoch ms.
 */
async function awaitParked(c: pg.Client, ids: string[], deadline: number): Promise<Map<string, number>> {
  for (;;) {
    const { rows } = await c.query<{ flowId: string; runAt: number }>(
      `SELECT flow_id AS "flowId", (EXTRACT(EPOCH FROM run_at) * 1000)::float8 AS "runAt"
         FROM steps
        WHERE flow_id = ANY($1::uuid[]) AND step_id = 'wait' AND due_action = 'timer' AND lease_owner IS NULL AND run_at > now()`,
      [ids],
    );
    if (rows.length === ids.length) return new Map(rows.map((r) => [r.flowId, r.runAt]));
    if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${ids.length} timers parked in time: raise TIMERS_LEAD_MS`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Moves each parked timer's run_at to its planned due time (epoch ms), as if
 * its delayMs had been computed from the moment the executor parked it
 * rather than from its submission. The executor keeps no timer state outside
 * the row, so this is the same as a more precise delayMs. Returns the new
 * run_at by flow id.
 */
async function alignTimers(c: pg.Client, ids: string[], dueAt: (i: number) => number): Promise<Map<string, number>> {
  const { rows } = await c.query<{ flowId: string; runAt: number }>(
    `UPDATE steps s SET run_at = to_timestamp(p.due / 1000)
       FROM unnest($1::uuid[], $2::float8[]) AS p(flow_id, due)
      WHERE s.flow_id = p.flow_id AND s.step_id = 'wait' AND s.due_action = 'timer' AND s.lease_owner IS NULL
      RETURNING s.flow_id AS "flowId", (EXTRACT(EPOCH FROM s.run_at) * 1000)::float8 AS "runAt"`,
    [ids, ids.map((_, i) => dueAt(i))],
  );
  if (rows.length !== ids.length) throw new Error(`aligned ${rows.length} of ${ids.length} timers`);
  return new Map(rows.map((r) => [r.flowId, r.runAt]));
}

interface TimerRow {
  flowId: string;
  /** Epoch ms the delay step's success committed (its step.succeeded event). */
  succeededMs: number;
  /** Epoch ms the executor took the due timer up (the attempt's finished_at, service clock). */
  firedMs: number;
}

function timerRows(c: pg.Client, ids: string[]): Promise<pg.QueryResult<TimerRow>> {
  return c.query<TimerRow>(
    `SELECT s.flow_id AS "flowId",
            (EXTRACT(EPOCH FROM ok.at) * 1000)::float8 AS "succeededMs",
            (EXTRACT(EPOCH FROM a.finished_at) * 1000)::float8 AS "firedMs"
       FROM steps s
       JOIN flow_events ok ON ok.flow_id = s.flow_id AND ok.step_id = 'wait' AND ok.type = 'step.succeeded'
       JOIN attempts a ON a.step_row_id = s.id AND a.outcome = 'succeeded'
      WHERE s.flow_id = ANY($1::uuid[]) AND s.step_id = 'wait'`,
    [ids],
  );
}

/** `p50/p99` lateness, in ms, of the timers due in each tenth of the window starting at `startMs`. */
function latenessByTenth(timers: { dueMs: number; lateMs: number }[], startMs: number, windowMs: number): string[] {
  const tenths: number[][] = Array.from({ length: 10 }, () => []);
  for (const t of timers) tenths[Math.min(9, Math.max(0, Math.floor(((t.dueMs - startMs) * 10) / windowMs)))]!.push(t.lateMs);
  return tenths.map((values) => (values.length === 0 ? '-' : `${Math.round(percentile(values, 50))}/${Math.round(percentile(values, 99))}`));
}

/** Count and distribution of lateness values, in ms. */
function lateness(values: number[]) {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    count: values.length,
    minMs: round(Math.min(...values)),
    p50Ms: round(percentile(values, 50)),
    p99Ms: round(percentile(values, 99)),
    maxMs: round(Math.max(...values)),
  };
}

async function measure(serviceUrl: string, stubUrl: string, databaseUrl: string, round: Round) {
  const c = new pg.Client({ connectionString: databaseUrl });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const firstDue = Date.now() + round.leadMs;
    const planned = (i: number) => firstDue + (i * WINDOW_MS) / round.flows;
    const submitStarted = performance.now();
    const ids = await submitAll(serviceUrl, stubUrl, round, planned);
    const submitS = (performance.now() - submitStarted) / 1000;
    const parked = await awaitParked(c, ids, firstDue - ALIGN_BEFORE_MS);
    const allParkedBeforeFirstDueMs = firstDue - Date.now();
    const due = ALIGN ? await alignTimers(c, ids, planned) : parked;
    // Nothing finishes before its due time; after it, poll rarely: lateness comes from the rows, not from the polling.
    await new Promise((r) => setTimeout(r, firstDue + WINDOW_MS - Date.now()));
    const statuses = await awaitFinishedFlows(databaseUrl, ids, FINISH_TIMEOUT_MS, FINISHED_POLL_MS);
    const failed = [...statuses].filter(([, s]) => s !== 'completed');
    if (failed.length > 0) throw new Error(`${failed.length} flows did not complete, e.g. ${failed[0]![0]} ended ${failed[0]![1]}`);
    const { rows } = await timerRows(c, ids);
    if (rows.length !== round.flows) throw new Error(`found timings for ${rows.length} of ${round.flows} delay steps`);
    const stubAnswer = (await (await fetch(`${stubUrl}/arrivals`)).json()) as { arrivals: Record<string, number>; repeats: number };
    const indexOf = new Map(ids.map((id, i) => [id, i]));
    const dueOf = (flowId: string) => due.get(flowId)!;
    // With TIMERS_ONLY there is no next step, so no arrival.
    const arrivals = ONLY_TIMERS ? null : rows.map((r) => {
      const at = stubAnswer.arrivals[`${round.prefix}:${indexOf.get(r.flowId)}`];
      if (at === undefined) throw new Error(`the stub saw no call from flow ${r.flowId}`);
      return at - dueOf(r.flowId);
    });
    const dues = [...due.values()];
    const delay = lateness(rows.map((r) => r.succeededMs - dueOf(r.flowId)));
    return {
      flows: round.flows,
      leadMs: round.leadMs,
      aligned: ALIGN,
      submitS,
      submitPerS: round.flows / submitS,
      /** How long before the first due time the last timer was parked, in ms. */
      allParkedBeforeFirstDueMs,
      /** run_at as parked minus as planned, in ms: how long after the client computed its delay the flow was created. */
      parkingLag: lateness(ids.map((id, i) => parked.get(id)! - planned(i))),
      /** Spread of the due times measured against, in ms. */
      dueWindowMs: Math.max(...dues) - Math.min(...dues),
      delayLateness: delay,
      delayFiredLateness: lateness(rows.map((r) => r.firedMs - dueOf(r.flowId))),
      /** Lateness p50 / p99 of the timers due in each tenth of the window, in ms: a stall shows where it happened. */
      delayLatenessByTenth: latenessByTenth(rows.map((r) => ({ dueMs: dueOf(r.flowId), lateMs: r.succeededMs - dueOf(r.flowId) })), Math.min(...dues), WINDOW_MS),
      onlyTimers: ONLY_TIMERS,
      /** null with TIMERS_ONLY. */
      httpArrivalLateness: arrivals && lateness(arrivals),
      stubRepeats: stubAnswer.repeats,
      target: { p99Ms: TARGET_P99_MS, met: delay.p99Ms < TARGET_P99_MS },
    };
  } finally {
    await c.end();
  }
}

export async function runTimersBench() {
  const stub = await startProcess([fileURLToPath(new URL('./arrival-stub.mjs', import.meta.url))], {}, '/readyz');
  const database = await createBenchDatabase('timers');
  try {
    const service = await startProcess([SERVER_ENTRY], { DATABASE_URL: database.url, HTTP_ALLOWED_HOSTS: '127.0.0.1', LOG_LEVEL: 'warn' });
    try {
      const warmup = WARMUP_FLOWS > 0 ? await measure(service.url, stub.url, database.url, { flows: WARMUP_FLOWS, leadMs: leadMsFor(WARMUP_FLOWS), prefix: 'warmup' }) : null;
      const result = await measure(service.url, stub.url, database.url, { flows: FLOWS, leadMs: LEAD_MS, prefix: 'measured' });
      return { ...result, warmup, peakRssMiB: service.peakRss() / 1024 / 1024, database: database.where };
    } finally {
      await service.stop();
    }
  } finally {
    await database.close();
    await stub.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runTimersBench(), null, 2));
}
