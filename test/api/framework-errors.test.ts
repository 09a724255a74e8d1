// What Fastify's router and Node's HTTP parser refuse before any route runs
// is answered in problem+json too, over a real socket: URLs that do not
// decode, path parameters past the limit, requests that are not HTTP, header
// blocks too large, and a body that never finishes arriving (408, not a hang).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startHarness({ startExecutor: false, requestTimeoutMs: 500 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  port = (h.app.server.address() as { port: number }).port;
});
afterAll(async () => h.close());

/** Writes `raw` to a fresh connection and collects what comes back until the server closes it (or `waitMs`). */
function exchange(raw: string, waitMs = 5000): Promise<{ status: number; headers: string; body: string; elapsedMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString()));
    const done = () => {
      clearTimeout(timer);
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body, elapsedMs: Date.now() - started });
    };
    socket.on('close', done);
    socket.on('error', reject);
    const timer = setTimeout(() => socket.destroy(), waitMs);
  });
}

function expectProblem(r: { status: number; headers: string; body: string }, status: number): void {
  expect(r.status).toBe(status);
  expect(r.headers).toContain('content-type: application/problem+json');
  const problem = JSON.parse(r.body) as { status: number; title: string; type: string };
  expect(problem.status).toBe(status);
  expect(problem.type).toMatch(/^urn:rebound:problem:/);
  expect(problem.title).toBeTruthy();
}

const get = (path: string) => exchange(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);

describe('errors before routing', () => {
  it.each(['/v1/flows/%FF', '/v1/flows/%ED%A0%80', '/v1/flows/%'])('a URL that does not decode (%s) is a 400 problem', async (path) => {
    expectProblem(await get(path), 400);
  });

  it('a path parameter past the router limit is a 414 problem; circuit keys the executor derives are reachable', async () => {
    expectProblem(await get(`/v1/circuits/${'k'.repeat(1100)}`), 414);
    // IPv6 hosts in brackets and 300-character keys: answered (not found), not refused.
    expectProblem(await get(`/v1/circuits/${encodeURIComponent('http:[::ffff:7f00:1]:8080')}`), 404);
    expectProblem(await get(`/v1/circuits/${encodeURIComponent(`http:${'h'.repeat(290)}`)}`), 404);
    expectProblem(await get(`/v1/circuits/${'k'.repeat(301)}`), 400);
  });

  it('a request that is not HTTP/1.1 is a 400 problem', async () => {
    expectProblem(await exchange('BREW /pot HTTP/1.1\r\nHost: localhost\r\n\r\n'), 400);
    expectProblem(await exchange('GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0001b\r\n\r\n'), 400);
    expectProblem(await exchange('POST /v1/flows HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 400);
  });

  it('a header block past the limit is a 431 problem', async () => {
    expectProblem(await exchange(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431);
  });

  it('a body that never finishes arriving is answered 408 once the request timeout passes, and the service stays healthy', async () => {
    const r = await exchange('POST /v1/flows HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":', 10_000);
    expectProblem(r, 408);
    expect(r.elapsedMs).toBeLessThan(5000);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('the timeout covers receiving a request, not answering it: a long poll outlives it', async () => {
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/flows?waitMs=1500`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'long-poll', steps: [{ id: 'ask', kind: 'approval' }] }),
    });
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });
});
