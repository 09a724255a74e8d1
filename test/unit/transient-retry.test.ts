import { describe, expect, it } from 'vitest';
import { isTransientDatabaseError, retryTransient } from '../../src/store/transient-retry.js';

function pgError(code: string) {
  return Object.assign(new Error(`pg ${code}`), { code });
}

describe('isTransientDatabaseError', () => {
  it.each(['40001', '40P01', '57P01', '57P03', 'ECONNREFUSED', 'ECONNRESET'])('retries %s', (code) => {
    expect(isTransientDatabaseError(pgError(code))).toBe(true);
  });

  it.each(['23505', '42P01', '22P02', 'P2002'])('does not retry %s', (code) => {
    expect(isTransientDatabaseError(pgError(code))).toBe(false);
  });

  it('finds the code in a cause chain and in Prisma driver adapter errors', () => {
    expect(isTransientDatabaseError(new Error('outer', { cause: pgError('40P01') }))).toBe(true);
    const prismaLike = Object.assign(new Error('prisma'), { code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'postgres', originalCode: '57P01' } } } });
    expect(isTransientDatabaseError(prismaLike)).toBe(true);
  });

  it('recognises lost connections by message', () => {
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(new Error('syntax error at or near'))).toBe(false);
    expect(isTransientDatabaseError('string')).toBe(false);
  });
});

describe('retryTransient', () => {
  const deps = (delays: number[]) => ({ random: () => 0.5, sleep: async (ms: number) => void delays.push(ms) });

  it('retries transient failures with jittered exponential backoff, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retryTransient(async () => {
      calls++;
      if (calls < 3) throw pgError('40001');
      return 'ok';
    }, deps(delays), { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 });
    expect(result).toBe('ok');
    expect(delays).toEqual([50, 100]);
  });

  it('gives up after the last attempt and caps the delay', async () => {
    const delays: number[] = [];
    await expect(
      retryTransient(async () => Promise.reject(pgError('57P01')), deps(delays), { attempts: 4, baseDelayMs: 400, maxDelayMs: 500 }),
    ).rejects.toThrow('pg 57P01');
    expect(delays).toEqual([200, 250, 250]);
  });

  it('surfaces permanent errors at once', async () => {
    const delays: number[] = [];
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls++;
        throw pgError('23505');
      }, deps(delays)),
    ).rejects.toThrow();
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });
});
