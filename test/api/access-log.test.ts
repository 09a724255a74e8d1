// One access line per request, with its request id, written as pino would
// write it on the service's own destination; the service's other lines still
// go through redaction.
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_FLUSH_MS, accessLineWriter } from '../../src/api/access-line.js';
import { createLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
/** A destination that keeps each write it receives, as text. */
function recordingDestination() {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { out, destination };
}
const flushed = () => new Promise((resolve) => setTimeout(resolve, ACCESS_FLUSH_MS + 20));
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
    await flushed();
    const access = lines.filter((l) => l.msg === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ level: 30, service: 'rebound', reqId: 'req-access-1', method: 'GET', url: '/v1/flows/not-a-uuid', statusCode: 400 });
    expect(typeof access[0]!.ms).toBe('number');
    expect(Number.isNaN(Date.parse(String(access[0]!.time)))).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('sk_secret');
  });

  it('writes the line pino would, to the destination of the logger it comes from, at its level', async () => {
    const { out, destination } = recordingDestination();
    accessLineWriter(createLogger('warn', destination))('r-1', 'GET', '/x', 200, 1);
    await flushed();
    expect(out).toEqual([]);

    const logger = createLogger('info', destination);
    const url = '/v1/flows?name="a\\b"\u0001\ud800';
    accessLineWriter(logger)('r-2', 'POST', url, 201, 12.345);
    await flushed();
    logger.info({ reqId: 'r-2', method: 'POST', url, statusCode: 201, ms: 12.3 }, 'request completed');
    expect(out).toHaveLength(2);
    const [ours, pinos] = out.map((l) => l.replace(/"time":"[^"]+"/, '"time":"T"'));
    expect(ours).toBe(pinos);
    expect(JSON.parse(out[0]!)).toMatchObject({ level: 30, service: 'rebound', url, ms: 12.3 });
  });

  it('writes lines in one batch within ACCESS_FLUSH_MS, at once when the batch reaches 16 KiB, and escapes ids and methods it does not make', async () => {
    const { out, destination } = recordingDestination();
    const write = accessLineWriter(createLogger('info', destination));
    write('r-1', 'GET', '/a', 200, 1);
    write('id "quoted"\n', 'BREW"', '/b', 418, 2);
    write('r-3', 'DELETE', '/c', 204, 3);
    expect(out).toEqual([]);
    await flushed();
    expect(out).toHaveLength(1);
    const lines = out[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.reqId, l.method, l.url, l.statusCode])).toEqual([
      ['r-1', 'GET', '/a', 200],
      ['id "quoted"\n', 'BREW"', '/b', 418],
      ['r-3', 'DELETE', '/c', 204],
    ]);
    write('r-4', 'GET', '/d', 200, 1);
    await flushed();
    expect(out).toHaveLength(2);
    for (let i = 0; i < 160; i++) write(`r-${i}`, 'GET', '/e', 200, 1);
    expect(out.length).toBeGreaterThanOrEqual(3);
    await flushed();
    expect(out.join('').trimEnd().split('\n')).toHaveLength(4 + 160);
  });

  it('writes pending lines before the process exits', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/access-line-then-exit.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture], { timeout: 20_000 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.reqId)).toEqual(['exit-1', 'exit-2']);
  });
});
