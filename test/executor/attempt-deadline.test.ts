// An http attempt's timeoutMs bounds the whole attempt, the answer's body
// included, and an attempt that ends leaves no timer of its own behind.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptDeadline } from '../../src/executor/runners/attempt-deadline.js';
import { createHttpAgent, runHttpAttempt } from '../../src/executor/runners/http-runner.js';

let server: Server;
let base: string;
const agent = createHttpAgent();
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    if (req.url === '/silent') return; // never answers
    if (req.url === '/drip') {
      // Headers at once, then a byte every 50 ms, never ending.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await agent.close();
  await new Promise((r) => server.close(r));
});

function attempt(path: string, timeoutMs: number) {
  return runHttpAttempt(agent, { request: { method: 'GET', url: `${base}${path}` }, timeoutMs, idempotencyKey: 'k', attempt: 1, now: Date.now });
}

describe('the deadline of an http attempt', () => {
  it('times out an answer that never comes', async () => {
    const started = Date.now();
    const result = await attempt('/silent', 200);
    expect(result).toMatchObject({ ok: false, failure: { source: 'timeout', code: 'ETIMEDOUT', message: 'timeout after 200 ms' } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('covers the body: headers at once and a body that never ends time out too', async () => {
    const started = Date.now();
    const result = await attempt('/drip', 300);
    expect(result).toMatchObject({ ok: false, failure: { source: 'timeout', code: 'ETIMEDOUT' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers in time as before', async () => {
    const result = await attempt('/fast', 5000);
    expect(result).toMatchObject({ ok: true, output: { status: 200, body: { ok: true } } });
  });

  it('fires once at its time, and not at all once cleared', async () => {
    const fired: number[] = [];
    const due = new AttemptDeadline(30);
    due.once('abort', () => fired.push(1));
    const cleared = new AttemptDeadline(30);
    cleared.once('abort', () => fired.push(2));
    cleared.clear();
    await new Promise((r) => setTimeout(r, 80));
    expect(fired).toEqual([1]);
    expect(due.aborted).toBe(true);
    expect(cleared.aborted).toBe(false);
  });
});
