import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

describe('smoke', () => {
  it('runs a two-step http flow to completion', async () => {
    up.on('/a', () => ({ body: { value: 21 } }));
    up.on('/b', (r) => ({ body: { doubled: (r.body as { v: number }).v * 2 } }));
    const res = await h.submit({
      name: 'smoke',
      input: { x: 1 },
      steps: [
        { id: 'a', kind: 'http', request: { method: 'POST', url: `${up.url}/a`, body: { x: '{% $input.x %}' } } },
        { id: 'b', kind: 'http', request: { method: 'POST', url: `${up.url}/b`, body: { v: '{% $steps.a.output.body.value %}' } } },
      ],
    }, { waitMs: 10000 });
    expect(res.statusCode).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(res.body.output).toMatchObject({ a: { status: 200, body: { value: 21 } }, b: { body: { doubled: 42 } } });
    const events = await h.events(res.body.id);
    expect(events.map((e) => e.type)).toEqual(['flow.started', 'step.started', 'step.succeeded', 'step.started', 'step.succeeded', 'flow.completed']);
  });
});
