import { describe, expect, it } from 'vitest';
import { enableFastClaim } from '../../src/executor/fast-claim.js';
import type { FlowTx } from '../../src/store/flow-tx.js';

/** The parts of a FlowTx the fast claim touches; slots are counted like the executor counts them. */
function setup(free: number) {
  const tx = { flow: { name: 'f', mode: 'strict', status: 'running', input: null, labels: {}, deadlineAt: null, traceparent: null }, afterRollback: [], afterCommit: [] } as unknown as FlowTx;
  const pool = { free, launched: 0 };
  enableFastClaim(tx, {
    owner: 'me',
    leaseMs: 1000,
    reserve: (n) => {
      const got = Math.min(n, pool.free);
      pool.free -= got;
      return got;
    },
    release: (n) => {
      pool.free += n;
    },
    launch: () => {
      pool.launched++;
    },
  });
  const undo = () => tx.afterRollback.forEach((hook) => hook());
  const commit = () => tx.afterCommit.forEach((hook) => hook());
  return { tx, pool, undo, commit };
}

const row = (id: string) => ({ id, dueAt: new Date(), claimedAt: new Date() }) as never;

describe('fast claim slot accounting', () => {
  it('returns unused slots at once and launches the claimed steps after commit', () => {
    const { tx, pool, commit } = setup(10);
    const r = tx.readyClaimer!.reserve(3);
    expect([r.slots, pool.free]).toEqual([3, 7]);
    r.accept([row('a')]);
    expect(pool.free).toBe(9);
    commit();
    expect(pool.launched).toBe(1);
  });
  it('a rollback returns the held slots once, however often the hooks run (a batch retried twice)', () => {
    const { tx, pool, undo } = setup(10);
    const r = tx.readyClaimer!.reserve(2);
    r.accept([row('a'), row('b')]);
    expect(pool.free).toBe(8);
    undo();
    undo();
    expect(pool.free).toBe(10);
  });
  it('a rollback before the rows came back returns every reserved slot, once', () => {
    const { tx, pool, undo } = setup(4);
    expect(tx.readyClaimer!.reserve(6).slots).toBe(4);
    undo();
    undo();
    expect(pool.free).toBe(4);
  });
  it.each(['failed', 'cancelled', 'compensating'])('starts nothing when a later outcome of the transaction left the flow %s, and returns the slots', (status) => {
    const { tx, pool, commit } = setup(5);
    tx.readyClaimer!.reserve(2).accept([row('a'), row('b')]);
    (tx.flow as { status: string }).status = status;
    commit();
    expect([pool.launched, pool.free]).toEqual([0, 5]);
  });
  it('still starts them when the flow is only waiting on a person elsewhere', () => {
    const { tx, pool, commit } = setup(5);
    tx.readyClaimer!.reserve(1).accept([row('a')]);
    (tx.flow as { status: string }).status = 'waiting';
    commit();
    expect([pool.launched, pool.free]).toEqual([1, 4]);
  });
  it('no capacity: nothing is held, nothing is returned', () => {
    const { tx, pool, undo } = setup(0);
    const r = tx.readyClaimer!.reserve(2);
    r.accept([]);
    undo();
    expect([r.slots, pool.free, tx.afterRollback.length]).toEqual([0, 0, 0]);
  });
});
