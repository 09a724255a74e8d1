// POST /v1/flows/{id}/restart takes `{fromStep?, input?: object}`: an input
// that is not a JSON object is a 400 schema violation and leaves the flow as
// it was; an object replaces the flow input. No executor runs, so the
// restarted flow stays where the restart put it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ startExecutor: false });
});
afterAll(async () => h.close());

const restart = (id: string, payload: unknown) =>
  h.app.inject({ method: 'POST', url: `/v1/flows/${id}/restart`, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

/** A cancelled flow (restartable) whose input is `{k: 'original'}`. */
async function cancelledFlow(): Promise<string> {
  const sub = await h.submit({ name: 'restart-input', input: { k: 'original' }, steps: [{ id: 'wait', kind: 'delay', delayMs: 60_000 }] });
  expect(sub.statusCode).toBe(202);
  const cancel = await h.app.inject({ method: 'POST', url: `/v1/flows/${sub.body.id}/cancel`, payload: { compensate: false } });
  expect(cancel.statusCode).toBe(200);
  expect(cancel.json()).toMatchObject({ status: 'cancelled' });
  return sub.body.id;
}

describe('restart input', () => {
  it.each([
    ['a number', 5],
    ['a string', 'x'],
    ['an array', [1]],
    ['null', null],
    ['a boolean', true],
  ])('%s as input is a 400 problem and the flow is unchanged', async (_, input) => {
    const id = await cancelledFlow();
    const before = await h.flow(id);
    const eventsBefore = await h.events(id);

    const res = await restart(id, { input });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      type: 'urn:rebound:problem:invalid-request',
      status: 400,
      errors: [{ path: '$.input', message: expect.any(String) }],
    });

    const after = await h.flow(id);
    expect(after).toEqual(before);
    expect(after).toMatchObject({ status: 'cancelled', input: { k: 'original' } });
    expect(await h.events(id)).toEqual(eventsBefore);
  });

  it('an object input replaces the flow input', async () => {
    const id = await cancelledFlow();
    const res = await restart(id, { input: { k: 'second', nested: { list: [1, null, 'a'] } } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'running', input: { k: 'second', nested: { list: [1, null, 'a'] } } });
    const restarted = (await h.events(id)).filter((e) => e.type === 'flow.restarted');
    expect(restarted.map((e) => e.data)).toEqual([expect.objectContaining({ fromStep: 'wait', inputReplaced: true })]);
  });

  it('an empty object is an input too; no input keeps the old one', async () => {
    const emptied = await cancelledFlow();
    expect((await restart(emptied, { input: {} })).json()).toMatchObject({ status: 'running', input: {} });
    const kept = await cancelledFlow();
    expect((await restart(kept, { fromStep: 'wait' })).json()).toMatchObject({ status: 'running', input: { k: 'original' } });
  });
});
