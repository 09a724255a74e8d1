// One access line per request, with its request id, written by the unredacted
// access logger on the service's own destination; the service's other lines
// still go through redaction.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, unredactedLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
const lines: Record<string, unknown>[] = [];
const sink = () =>
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });

beforeAll(async () => {
  process.env.TEST_LOG_LEVEL = 'info';
  h = await startHarness({ logDestination: sink() });
  delete process.env.TEST_LOG_LEVEL;
});
afterAll(async () => {
  await h.close();
});

describe('access log', () => {
  it('writes one line per request with the request id, method, url, status and duration', async () => {
    lines.length = 0;
    const res = await h.app.inject({ method: 'GET', url: '/v1/flows/not-a-uuid', headers: { 'x-request-id': 'req-access-1', authorization: 'Bearer sk_secret' } });
    expect(res.statusCode).toBe(400);
    const access = lines.filter((l) => l.msg === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ level: 30, service: 'rebound', reqId: 'req-access-1', method: 'GET', url: '/v1/flows/not-a-uuid', statusCode: 400 });
    expect(typeof access[0]!.ms).toBe('number');
    expect(Number.isNaN(Date.parse(String(access[0]!.time)))).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('sk_secret');
  });

  it('shares the level and destination of the logger it comes from, and only that logger redacts', () => {
    const out: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger('warn', destination);
    const access = unredactedLogger(logger);
    access.info({ url: '/x' }, 'below the level');
    access.warn({ url: '/x', password: 'shown' }, 'at the level');
    logger.warn({ password: 'hidden' }, 'redacted');
    expect(out.map((l) => l.msg)).toEqual(['at the level', 'redacted']);
    expect(out[0]).toMatchObject({ service: 'rebound', url: '/x', password: 'shown' });
    expect(out[1]).toMatchObject({ password: '[redacted]' });
  });
});
