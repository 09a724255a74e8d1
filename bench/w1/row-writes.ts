// What PostgreSQL writes for a W1 step: one W1 run (its warm-up rounds
// included), then the database's own counters divided by the steps run.
// Rows inserted, updated (and how many of those were HOT, adding no index
// entries) and deleted per table, index entries written per index, and the
// cluster's WAL bytes and records (the cluster's, so run it alone).
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createBenchDatabase } from '../lib/bench-database.js';
import { startProcess } from '../lib/service-process.js';
import { runReboundW1, W1_STUB_ENTRY } from './run.js';

const FLOWS = Number(process.env.W1_FLOWS ?? 1000);
const ROUNDS = 1 + Number(process.env.W1_WARMUP_ROUNDS ?? 1);
const STEPS = FLOWS * 5 * ROUNDS;

async function walTotals(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ bytes: string; records: string; fpi: string }>('SELECT wal_bytes::text AS bytes, wal_records::text AS records, wal_fpi::text AS fpi FROM pg_stat_wal');
    return { bytes: Number(rows[0]!.bytes), records: Number(rows[0]!.records), fullPageImages: Number(rows[0]!.fpi) };
  } finally {
    await c.end();
  }
}

async function tableCounters(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // Backends flush their counters when they go idle or exit; the service has stopped by now.
    await c.query('SELECT pg_stat_clear_snapshot()');
    const tables = await c.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
      `SELECT relname, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot, n_tup_del::text AS del
         FROM pg_stat_user_tables ORDER BY relname`,
    );
    // An index's entries written: its table's inserts and non-HOT updates, for every index on it (partial ones at most that).
    const indexes = await c.query<{ relname: string; indexrelname: string; pred: boolean }>(
      `SELECT s.relname, s.indexrelname, i.indpred IS NOT NULL AS pred
         FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid ORDER BY s.relname, s.indexrelname`,
    );
    return { tables: tables.rows, indexes: indexes.rows };
  } finally {
    await c.end();
  }
}

export async function runRowWrites() {
  const stub = await startProcess([W1_STUB_ENTRY], {}, '/readyz');
  const database = await createBenchDatabase('w1rows');
  try {
    const walBefore = await walTotals(database.url);
    const run = await runReboundW1(stub.url, database, `rows-${Date.now()}`);
    // The stats collector takes up to a second to publish what the exited backends reported.
    await new Promise((r) => setTimeout(r, 1500));
    const walAfter = await walTotals(database.url);
    const { tables, indexes } = await tableCounters(database.url);
    const perStep = (n: number) => Math.round((n / STEPS) * 100) / 100;
    const rows = tables
      .map((t) => {
        const updates = Number(t.upd);
        const hot = Number(t.hot);
        const ins = Number(t.ins);
        const idx = indexes.filter((i) => i.relname === t.relname);
        return {
          table: t.relname,
          insertedPerStep: perStep(ins),
          updatedPerStep: perStep(updates),
          hotShare: updates ? Math.round((hot / updates) * 100) / 100 : null,
          deletedPerStep: perStep(Number(t.del)),
          indexes: idx.length,
          partialIndexes: idx.filter((i) => i.pred).length,
          // An upper bound: partial indexes skip the rows outside their predicate.
          indexEntriesPerStepAtMost: perStep((ins + updates - hot) * idx.length),
        };
      })
      .filter((t) => t.insertedPerStep || t.updatedPerStep || t.deletedPerStep);
    return {
      steps: STEPS,
      rounds: ROUNDS,
      measuredRound: { stepsPerS: Math.round(run.stepsPerS), commitsPerStep: run.commitsPerStep },
      walPerStep: {
        bytes: Math.round((walAfter.bytes - walBefore.bytes) / STEPS),
        records: perStep(walAfter.records - walBefore.records),
        fullPageImages: perStep(walAfter.fullPageImages - walBefore.fullPageImages),
      },
      tables: rows,
    };
  } finally {
    await database.close();
    await stub.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runRowWrites(), null, 2));
}
