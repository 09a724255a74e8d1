// What the executor stores from sources nobody validated (an upstream's
// answer, an expression's result) never leaves a step stuck: NUL and unpaired
// surrogates become U+FFFD, JSON too deep to serialise stays text, results
// that are not JSON and patches whose expressions throw fail the attempt.
// Before, each of these failed the statement that stored it, and the step
// ran again every lease, calling its upstream each time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const callsFor = (flowId: string, path: string) => up.to(path).filter((r) => String(r.headers['idempotency-key']).startsWith(flowId));
const once = { maxAttempts: 1 };

describe('results Postgres cannot store as they are', () => {
  it('an upstream JSON answer with NUL and lone surrogates is stored with U+FFFD, and the step runs once', async () => {
    up.on('/nul-json', () => ({ body: '{"v":"a\\u0000b","hi":"\\ud800","pair":"\\ud83d\\ude00","literal":"C:\\\\u0000dir"}', headers: { 'content-type': 'application/json' } }));
    const res = await h.submit({ name: 'nul-json', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/nul-json` }, retry: once }] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('completed');
    expect((res.body.steps[0]!.output as { body: unknown }).body).toEqual({ v: 'a\ufffdb', hi: '\ufffd', pair: '😀', literal: 'C:\\u0000dir' });
    expect(callsFor(res.body.id, '/nul-json')).toHaveLength(1);
  });

  it('a text answer with a NUL byte, and an error message with one, are stored with U+FFFD', async () => {
    up.on('/nul-text', () => ({ body: 'a\u0000b', headers: { 'content-type': 'text/plain' } }));
    up.on('/nul-error', () => ({ status: 400, body: { message: 'bad\u0000input', code: 'E\u0000' } }));
    const ok = await h.submit({ name: 'nul-text', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/nul-text` }, retry: once }] }, { waitMs: 10_000 });
    expect(ok.body.status).toBe('completed');
    expect((ok.body.steps[0]!.output as { body: unknown }).body).toBe('a\ufffdb');
    const failed = await h.submit({ name: 'nul-error', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/nul-error` }, retry: once }] }, { waitMs: 10_000 });
    expect(failed.body.status).toBe('failed');
    expect(failed.body.steps[0]!.error).toMatchObject({ message: 'bad\ufffdinput', code: 'E\ufffd' });
    expect(callsFor(failed.body.id, '/nul-error')).toHaveLength(1);
  });

  it('expression results with NUL or a lone surrogate are stored with U+FFFD (outputs and task inputs)', async () => {
    const res = await h.submit(
      { name: 'nul-expr', steps: [{ id: 'n', kind: 'noop', output: { nul: '{% $decodeUrl("%00") %}', half: '{% $split("😀", "")[0] %}' } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.steps[0]!.output).toEqual({ nul: '\ufffd', half: '\ufffd' });
  });

  it('an upstream answer nested deeper than 100 levels is kept as text, and the flow can be read', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    up.on('/deep', () => ({ body: deep, headers: { 'content-type': 'application/json' } }));
    const res = await h.submit({ name: 'deep', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/deep` }, retry: once }] }, { waitMs: 10_000 });
    expect(res.statusCode).toBe(200);
    expect(res.body.status).toBe('completed');
    expect((res.body.steps[0]!.output as { body: unknown }).body).toBe(deep);
    expect((await h.app.inject({ method: 'GET', url: `/v1/flows/${res.body.id}` })).statusCode).toBe(200);
  });

  it('an expression whose result is a function fails the attempt instead of the step sticking', async () => {
    const res = await h.submit({ name: 'fn', steps: [{ id: 'n', kind: 'noop', output: { f: '{% function($x) { $x } %}' }, retry: once }] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('failed');
    expect(res.body.steps[0]!.error).toMatchObject({ code: 'EXPRESSION', errorType: 'validation' });
    expect(String((res.body.steps[0]!.error as { message: string }).message)).toContain('not JSON');
  });

  it('a correction whose patch expression throws fails the step, saying why, and calls the upstream once', async () => {
    up.on('/assert', () => ({ status: 422, body: { message: 'no' } }));
    const res = await h.submit(
      { name: 'assert', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/assert` }, retry: once, corrections: [{ when: {}, patch: { 'request.body.x': '{% $assert(false, "cannot fix") %}' } }] }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    expect(callsFor(res.body.id, '/assert')).toHaveLength(1);
    const decided = (await h.events(res.body.id)).filter((e) => e.type === 'recovery.decided').map((e) => e.data);
    expect(decided).toEqual([expect.objectContaining({ strategy: 'fail', reason: expect.stringContaining('cannot fix') })]);
  });
});
