import { afterAll, beforeAll, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h.close(); });
it('probe', async () => {
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const sub = await h.submit({ name: 'p', steps: [{ id: 'approve', kind: 'approval' }, { id: 'next', kind: 'noop' }] });
    let esc: { id: string } | undefined;
    while (!esc) { esc = ((await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${sub.body.id}` })).json() as { items: { id: string }[] }).items[0]; }
    const t1 = Date.now();
    await h.app.inject({ method: 'POST', url: `/v1/escalations/${esc.id}/resolve`, payload: { action: 'complete', output: 1 } });
    const t2 = Date.now();
    await h.waitFor(sub.body.id, ['completed']);
    const t3 = Date.now();
    process.stdout.write(`open ${t1 - t0} resolve ${t2 - t1} finish ${t3 - t2}\n`);
  }
});
