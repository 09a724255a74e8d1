// A request's logger is only made into a pino child when the request logs;
// its lines then carry the request id and pass through redaction as before.
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { LazyRequestLogger, lazyChildLogger } from '../../src/api/lazy-request-logger.js';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', destination) };
}

describe('lazy request logger', () => {
  it('makes the child on first use, with its bindings, level and redaction', () => {
    const { lines, logger } = capture();
    const lazy = lazyChildLogger(logger, { reqId: 'r-1' }, {}) as LazyRequestLogger;
    expect(lazy.isMade).toBe(false);
    lazy.debug('below the level');
    lazy.warn({ password: 'p4ss' }, 'careful');
    expect(lazy.isMade).toBe(true);
    expect(lazy.level).toBe('info');
    lazy.child({ part: 'x' }).error('nested');
    expect(lines.map((l) => l.msg)).toEqual(['careful', 'nested']);
    expect(lines[0]).toMatchObject({ reqId: 'r-1', password: '[redacted]', service: 'rebound' });
    expect(lines[1]).toMatchObject({ reqId: 'r-1', part: 'x' });
  });

  it('serves as Fastify request.log: a request that logs gets its id on the line, one that does not makes no child', async () => {
    const { lines, logger } = capture();
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: lazyChildLogger, disableRequestLogging: true, genReqId: () => 'req-42' });
    const made: boolean[] = [];
    app.get('/quiet', async (request) => {
      made.push((request.log as unknown as LazyRequestLogger).isMade);
      return {};
    });
    app.get('/loud', async (request) => {
      request.log.info({ token: 't0k3n' }, 'handling');
      return {};
    });
    expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/loud' })).statusCode).toBe(200);
    await app.close();
    expect(made).toEqual([false]);
    expect(lines.filter((l) => l.msg === 'handling')).toEqual([expect.objectContaining({ reqId: 'req-42', token: '[redacted]' })]);
  });
});
