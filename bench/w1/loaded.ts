// bench/w1/loaded: W1 on a fresh, empty database against W1 on a database
// that already holds 200,000 finished steps (completed flows with their
// attempts and events) and 100,000 delay steps parked on far-future timers;
// the target is loaded steps/s >= 0.8 x empty. Rounds alternate empty and
// loaded (this machine is noisy); medians are compared. Also returns
// EXPLAIN (ANALYZE, BUFFERS) of the claim and next-due queries on the loaded
// database, taken after the fill and before the W1 runs.
import { fileURLToPath } from 'node:url';
import { createBenchDatabase } from '../lib/bench-database.js';
import { startProcess } from '../lib/service-process.js';
import { explainHotQueries } from './explain-hot-queries.js';
import { fillHistory } from './fill-history.js';
import { runReboundW1, W1_STUB_ENTRY } from './run.js';

/** Rounds, each one W1 run (W1_FLOWS flows) on the empty and one on the loaded database. */
const RUNS = Number(process.env.LOADED_W1_RUNS ?? 3);
const FINISHED_STEPS = Number(process.env.LOADED_FINISHED_STEPS ?? 200_000);
const WAITING_STEPS = Number(process.env.LOADED_WAITING_STEPS ?? 100_000);
/** The target: loaded steps/s over empty steps/s, at least. */
const TARGET_RATIO = 0.8;

type W1Run = Awaited<ReturnType<typeof runReboundW1>>;

function median(runs: W1Run[]): W1Run {
  return [...runs].sort((a, b) => a.stepsPerS - b.stepsPerS)[Math.floor(runs.length / 2)]!;
}

export async function runLoadedW1() {
  const stub = await startProcess([W1_STUB_ENTRY], {}, '/readyz');
  try {
    const empty = await createBenchDatabase('w1_empty');
    try {
      const loaded = await createBenchDatabase('w1_loaded');
      try {
        const fill = await fillHistory(loaded, stub.url, { finishedSteps: FINISHED_STEPS, waitingSteps: WAITING_STEPS });
        const explain = await explainHotQueries(loaded.url);
        const rounds = [];
        for (let r = 0; r < RUNS; r++) {
          const tag = `${Date.now()}-${r}`;
          const onEmpty = await runReboundW1(stub.url, empty, `empty-${tag}`);
          const onLoaded = await runReboundW1(stub.url, loaded, `loaded-${tag}`);
          rounds.push({ empty: onEmpty, loaded: onLoaded, ratio: onLoaded.stepsPerS / onEmpty.stepsPerS });
        }
        const emptyMedian = median(rounds.map((r) => r.empty));
        const loadedMedian = median(rounds.map((r) => r.loaded));
        const ratio = loadedMedian.stepsPerS / emptyMedian.stepsPerS;
        return {
          rounds,
          emptyStepsPerS: emptyMedian.stepsPerS,
          loadedStepsPerS: loadedMedian.stepsPerS,
          ratio,
          target: { ratio: TARGET_RATIO, met: ratio >= TARGET_RATIO },
          fill,
          explain,
          database: loaded.where,
        };
      } finally {
        await loaded.close();
      }
    } finally {
      await empty.close();
    }
  } finally {
    await stub.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runLoadedW1(), null, 2));
}
