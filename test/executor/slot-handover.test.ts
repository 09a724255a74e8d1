// A success hands its execution slot to the step it releases: with every
// slot busy, a flow's next step is still claimed by the statement that
// settles its predecessor and started after the commit, without a claim of
// its own, and the executor never runs more than `concurrency` calls at once,
// also when a commit's fast claim lands while the claim loop's claim is out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.js';
import { CLAIM_DUE_STEPS } from '../../src/store/sql/claim-due-steps.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type StubHandler, type Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
/** Rows returned by the claim loop's statement, since the last reset. */
let claimedRows = 0;
/** Calls to /op the upstream is answering now, and the most at once. */
const op = { now: 0, most: 0 };

/** An upstream handler that answers after `ms`, counting in `gauge` the calls it answers at once. */
function countedCall(gauge: { now: number; most: number }, ms: number): StubHandler {
  return async () => {
    gauge.now++;
    gauge.most = Math.max(gauge.most, gauge.now);
    await new Promise((r) => setTimeout(r, ms));
    gauge.now--;
    return { body: { ok: true } };
  };
}

type QueryResult = { rows: unknown[] };

/** `db`, with every claim of the claim loop run through `around`. */
function aroundClaims(db: Database, around: (claim: () => Promise<QueryResult>) => Promise<QueryResult>): Database {
  const query = db.query as (c: unknown, v?: unknown[]) => Promise<QueryResult>;
  return {
    ...db,
    query: ((config: unknown, values?: unknown[]) => {
      const text = typeof config === 'string' ? config : (config as { text: string }).text;
      return text === CLAIM_DUE_STEPS ? around(() => query(config, values)) : query(config, values);
    }) as Database['query'],
  };
}

beforeAll(async () => {
  h = await startHarness({ startExecutor: false });
  const countingClaims = aroundClaims(h.db, async (claim) => {
    const result = await claim();
    claimedRows += result.rows.length;
    return result;
  });
  h.addExecutor({ db: countingClaims, concurrency: 1 });
  up = await startUpstream();
  up.on('/op', countedCall(op, 20));
});
afterAll(async () => {
  await h.close();
  await up.close();
});

const call = (id: string, dependsOn?: string[]) => ({ id, kind: 'http', request: { method: 'POST', url: `${up.url}/op`, body: { id } }, ...(dependsOn ? { dependsOn } : {}) });

describe('slot handover', () => {
  it("a sequence's next steps start in their predecessor's slot, with no claim of their own, even with the only slot busy", async () => {
    claimedRows = 0;
    op.most = 0;
    const flows = [];
    for (let f = 0; f < 3; f++) flows.push((await h.submit({ name: `chain-${f}`, steps: [call('a'), call('b'), call('c')] })).body.id);
    for (const id of flows) expect((await h.waitFor(id, ['completed', 'failed'], 15_000)).status).toBe('completed');
    // Only each flow's first step went through the claim loop.
    expect(claimedRows).toBe(3);
    expect(op.most).toBe(1);
    // The flows ran one after another: each started in the slot the one before left.
    const order = up.to('/op').map((r) => (r.body as { id: string }).id);
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('a success that releases two steps hands over one slot: the other waits for a free one', async () => {
    claimedRows = 0;
    op.most = 0;
    const { body } = await h.submit({ name: 'fan-out', steps: [call('root'), call('left', ['root']), call('right', ['root']), call('join', ['left', 'right'])] });
    expect((await h.waitFor(body.id, ['completed', 'failed'], 15_000)).status).toBe('completed');
    expect(op.most).toBe(1);
    // root by the claim loop, one of left/right in root's slot, the other by the claim loop; join in the last one's slot.
    expect(claimedRows).toBe(2);
  });

  it('slots handed over are counted back: later flows still run, one call at a time', async () => {
    op.most = 0;
    const flows = [];
    for (let f = 0; f < 4; f++) flows.push((await h.submit({ name: `again-${f}`, steps: [call('a'), call('b')] })).body.id);
    for (const id of flows) expect((await h.waitFor(id, ['completed', 'failed'], 15_000)).status).toBe('completed');
    expect(op.most).toBe(1);
  });
});

describe('a claim in flight', () => {
  it("holds its slots: a commit's fast claim meanwhile cannot take them too", async () => {
    const h2 = await startHarness({ startExecutor: false });
    // Every claim waits 400 ms before it runs, so a commit lands while one is out.
    const slowClaims = aroundClaims(h2.db, async (claim) => {
      await new Promise((r) => setTimeout(r, 400));
      return claim();
    });
    const calls = { now: 0, most: 0 };
    up.on('/slow', countedCall(calls, 1500));
    up.on('/soon', () => ({ body: { ok: true }, delayMs: 100 }));
    up.on('/now', () => ({ body: { ok: true } }));
    const step = (id: string, path: string, dependsOn?: string[]) => ({ id, kind: 'http', request: { method: 'POST', url: `${up.url}${path}` }, ...(dependsOn ? { dependsOn } : {}) });
    try {
      h2.addExecutor({ db: slowClaims, concurrency: 2 });
      // The first claim takes a1 and c1. c1 ends first and the loop claims again (one slot, a1 still runs);
      // while that claim waits, a1 succeeds and releases a2 and a3.
      const a = await h2.submit({ name: 'fan', steps: [step('a1', '/soon'), step('a2', '/slow', ['a1']), step('a3', '/slow', ['a1'])] });
      const c = await h2.submit({ name: 'quick', steps: [step('c1', '/now')] });
      for (let i = 0; i < 300 && up.to('/now').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 150));
      // Due before the waiting claim runs: it takes it, or a3 if a3 did not get a slot from the commit.
      const b = await h2.submit({ name: 'late', steps: [step('b1', '/slow')] });
      for (const id of [a.body.id, b.body.id, c.body.id]) expect((await h2.waitFor(id, ['completed', 'failed'], 20_000)).status).toBe('completed');
      expect(up.to('/slow')).toHaveLength(3);
      expect(calls.most).toBe(2);
    } finally {
      await h2.close();
    }
  });
});

describe('a success of an earlier run', () => {
  it('keeps its slot while its call goes on and hands over none: the step row runs again for a restarted flow, in a slot of its own', async () => {
    const h3 = await startHarness({ executor: { concurrency: 2 } });
    const calls = { now: 0, most: 0 };
    // The first run's call ends while the restarted run's is still going.
    up.on('/twice', (req) => countedCall(calls, req.count === 1 ? 600 : 2000)(req));
    up.on('/other', countedCall(calls, 1000));
    const post = (path: string) => ({ kind: 'http', request: { method: 'POST', url: `${up.url}${path}` } });
    try {
      const { body } = await h3.submit({ name: 'restarted', steps: [{ id: 's', ...post('/twice') }, { id: 't', kind: 'noop', dependsOn: ['s'] }] });
      for (let i = 0; i < 300 && up.to('/twice').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await h3.app.inject({ method: 'POST', url: `/v1/flows/${body.id}/cancel`, payload: { compensate: false } })).statusCode).toBe(200);
      expect((await h3.app.inject({ method: 'POST', url: `/v1/flows/${body.id}/restart`, payload: {} })).statusCode).toBe(202);
      for (let i = 0; i < 300 && up.to('/twice').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const other = async (f: number) => (await h3.submit({ name: `other-${f}`, steps: [{ id: 'o', ...post('/other') }] })).body.id;
      // Both runs' calls are going: the first run's work still holds its slot, so this one waits for it.
      const others = [await other(0)];
      // The first run's success is refused (its run is over) once its call ends; the second run's call goes on.
      await new Promise((r) => setTimeout(r, 900));
      for (let f = 1; f < 3; f++) others.push(await other(f));
      for (const id of [body.id, ...others]) expect((await h3.waitFor(id, ['completed', 'failed'], 20_000)).status).toBe('completed');
      // Two calls at a time, whichever runs they belong to: two slots.
      expect(calls.most).toBe(2);
    } finally {
      await h3.close();
    }
  });
});
