// A secret header in a plan reaches the target intact but never appears in an
// API response, an event, an escalation or a log line.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/api/redaction.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const SECRET = 'sk_live_ABCDEF0123456789';
let h: Harness;
let up: Upstream;
const logLines: string[] = [];

beforeAll(async () => {
  process.env.TEST_LOG_LEVEL = 'trace';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  h = await startHarness({ logDestination: sink });
  delete process.env.TEST_LOG_LEVEL;
  up = await startUpstream();
  await h.relaxBreaker(up.url);
  up.on('/secure', (r) => (r.headers.authorization === `Bearer ${SECRET}` ? { status: 503, headers: { 'set-cookie': `session=${SECRET}` }, body: { message: 'busy' } } : { status: 401 }));
});
afterAll(async () => {
  await h.close();
  await up.close();
});

describe('redaction', () => {
  it('sends secret headers intact but never shows them', async () => {
    const res = await h.submit(
      {
        name: 'secretive',
        steps: [
          {
            id: 's',
            kind: 'http',
            request: { method: 'POST', url: `${up.url}/secure`, headers: { Authorization: `Bearer ${SECRET}`, 'X-Api-Key': SECRET, 'X-Trace': 'visible' }, body: {} },
            retry: { maxAttempts: 1 },
            escalation: { enabled: true },
          },
        ],
      },
      { headers: { authorization: `Bearer ${SECRET}` } },
    );
    expect(res.statusCode).toBe(202);
    await h.waitFor(res.body.id, ['waiting']);
    expect(up.to('/secure')[0]!.headers['x-api-key']).toBe(SECRET);

    const bodies = [
      JSON.stringify(res.body),
      JSON.stringify(await h.flow(res.body.id)),
      JSON.stringify(await h.events(res.body.id)),
      (await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${res.body.id}` })).body,
    ];
    const esc = JSON.parse(bodies[3]!).items[0];
    bodies.push((await h.app.inject({ method: 'GET', url: `/v1/escalations/${esc.id}` })).body);
    for (const body of bodies) expect(body).not.toContain(SECRET);
    expect(bodies[4]).toContain('[redacted]');
    expect(bodies[4]).toContain('visible');
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(SECRET);
  });

  it('redacts headers objects and dotted header paths, and nothing else', () => {
    expect(redactSecrets({ request: { headers: { Cookie: 'c', 'X-Session-Token': 't', Accept: 'a' } }, password: 'not a header', patch: { 'request.headers.authorization': 'x', 'request.body.key': 'k' } })).toEqual({
      request: { headers: { Cookie: '[redacted]', 'X-Session-Token': '[redacted]', Accept: 'a' } },
      password: 'not a header',
      patch: { 'request.headers.authorization': '[redacted]', 'request.body.key': 'k' },
    });
  });
});
