import { describe, expect, it } from 'vitest';
import { createExecutionSlots } from '../../src/executor/execution-slots.js';

/** Work that ends when `end()` is called. */
function pending() {
  let end: () => void = () => undefined;
  const done = new Promise<void>((r) => (end = r));
  return { start: () => done, end };
}

const settle = async () => new Promise((r) => setImmediate(r));

describe('execution slots', () => {
  it('counts running work and held slots against the concurrency', async () => {
    const slots = createExecutionSlots(3);
    const a = pending();
    slots.track({ id: 'a', run: 0, attempt: 0 }, a.start, () => undefined);
    slots.hold(1);
    expect(slots.free()).toBe(1);
    slots.release(1);
    a.end();
    await settle();
    expect([slots.free(), slots.size()]).toEqual([3, 0]);
  });

  it("a settled step's slot passes to what it releases before any free one, once", () => {
    const slots = createExecutionSlots(2);
    slots.track({ id: 'a', run: 0, attempt: 0 }, pending().start, () => undefined);
    expect(slots.holdForReleased(3, [{ id: 'a', run: 0, attempt: 0 }])).toBe(2);
    expect(slots.free()).toBe(0);
    slots.release(2);
    // Handed over already: the slot is a free one now, not a second handover.
    expect(slots.holdForReleased(3, [{ id: 'a', run: 0, attempt: 0 }])).toBe(2);
  });

  it('only the work that claimed the step as it is settled hands over its slot', () => {
    const slots = createExecutionSlots(1);
    slots.track({ id: 'a', run: 1, attempt: 0 }, pending().start, () => undefined);
    expect(slots.holdForReleased(1, [{ id: 'a', run: 0, attempt: 0 }])).toBe(0);
    expect(slots.holdForReleased(1, [{ id: 'a', run: 1, attempt: 1 }])).toBe(0);
    expect(slots.holdForReleased(1, [{ id: 'b', run: 1, attempt: 0 }])).toBe(0);
  });

  it('work replaced by a later run of its step keeps its slot until it ends', async () => {
    const slots = createExecutionSlots(3);
    const first = pending();
    const second = pending();
    slots.track({ id: 'a', run: 0, attempt: 0 }, first.start, () => undefined);
    expect(slots.working({ id: 'a', run: 0, attempt: 0 })).toBe(true);
    slots.track({ id: 'a', run: 1, attempt: 0 }, second.start, () => undefined);
    expect([slots.free(), slots.size(), slots.working({ id: 'a', run: 0, attempt: 0 })]).toEqual([1, 1, false]);
    first.end();
    await settle();
    expect([slots.free(), slots.size()]).toEqual([2, 1]);
    second.end();
    await settle();
    expect(slots.free()).toBe(3);
  });

  it('replaced work that had handed its slot over holds none', async () => {
    const slots = createExecutionSlots(2);
    const first = pending();
    slots.track({ id: 'a', run: 0, attempt: 0 }, first.start, () => undefined);
    expect(slots.holdForReleased(1, [{ id: 'a', run: 0, attempt: 0 }])).toBe(1);
    slots.release(1);
    slots.track({ id: 'a', run: 1, attempt: 0 }, pending().start, () => undefined);
    expect(slots.free()).toBe(1);
    first.end();
    await settle();
    expect(slots.free()).toBe(1);
  });
});
