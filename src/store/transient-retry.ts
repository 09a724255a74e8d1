// The one place where database calls are retried. Only errors that a retry can
// fix are retried: serialization failures, deadlocks, admin shutdowns,
// "cannot connect now" and lost connections. Everything else surfaces at once.

/** SQLSTATEs worth retrying: serialization_failure, deadlock_detected, admin_shutdown, cannot_connect_now. */
export const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

/** Socket-level error codes that mean the connection is gone or not there yet. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/** Prisma's names for the same conditions (P1001 unreachable, P1017 closed, P2034 write conflict). */
const PRISMA_TRANSIENT = new Set(['P1001', 'P1002', 'P1017', 'P2034', 'TransactionWriteConflict', 'DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'terminating connection',
  'the database system is starting up',
  'the database system is shutting down',
  'Connection is closed',
  'timeout exceeded when trying to connect',
];

/** True when the error (or anything in its cause chain) is a transient database condition. */
export function isTransientDatabaseError(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  const e = error as Record<string, unknown>;
  for (const field of ['code', 'originalCode', 'kind']) {
    const value = e[field];
    if (typeof value === 'string' && (TRANSIENT_SQLSTATES.has(value) || CONNECTION_CODES.has(value) || PRISMA_TRANSIENT.has(value))) {
      return true;
    }
  }
  const message = typeof e.message === 'string' ? e.message : '';
  if (CONNECTION_MESSAGES.some((m) => message.includes(m))) return true;
  const meta = e.meta as Record<string, unknown> | undefined;
  return isTransientDatabaseError(e.cause, depth + 1) || isTransientDatabaseError(meta?.driverAdapterError, depth + 1);
}

export interface RetryPolicy {
  /** Total tries including the first. Defaults to 5. */
  attempts: number;
  /** First backoff delay, in milliseconds. Defaults to 50 ms. */
  baseDelayMs: number;
  /** Largest backoff delay, in milliseconds. Defaults to 2 s. */
  maxDelayMs: number;
}

export const DEFAULT_DATABASE_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 2000 };

export interface RetryDeps {
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn`, retrying transient database errors with full-jitter exponential backoff. */
export async function retryTransient<T>(fn: () => Promise<T>, deps: RetryDeps, policy: RetryPolicy = DEFAULT_DATABASE_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= policy.attempts || !isTransientDatabaseError(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(deps.random() * ceiling);
      deps.onRetry?.(error, attempt, delayMs);
      await deps.sleep(delayMs);
    }
  }
}
