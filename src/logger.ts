// pino logger shared by the HTTP layer and the executor. Secrets never reach
// a log line: authorization/cookie headers and any header or field whose name
// looks secret are redacted.
import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths pino censors. Wildcards cover nested headers of requests and step definitions. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'password',
  'secret',
  'token',
  '*.password',
  '*.secret',
  '*.token',
];

/**
 * pino's isoTime, formatted once per millisecond: at API request rates many
 * lines share a millisecond, and formatting the date was a third of the
 * access line's cost (bench/README.md, "Error analysis").
 */
let formattedAt = -1;
let formatted = '';
export function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now !== formattedAt) {
    formattedAt = now;
    formatted = `,"time":"${new Date(now).toISOString()}"`;
  }
  return formatted;
}

/** Fields on every line. */
export const LOG_BASE = { service: 'rebound' };

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    base: LOG_BASE,
    timestamp: isoTimeOncePerMs,
  };
}

/**
 * Logs go to stdout through a buffered writer (16 KiB or 100 ms, whichever
 * first) rather than one write(2) per line: at API request rates the syscall
 * was a sixth of a request's cost, and each write is a trip through libuv's
 * thread pool (bench/README.md, "Error analysis"). Buffered lines are
 * flushed on exit.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  if (destination) return pino(loggerOptions(level), destination);
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 16 * 1024, maxWrite: 64 * 1024 });
  const timer = setInterval(() => stdout.flush(), 100);
  timer.unref();
  process.once('exit', () => stdout.flushSync());
  return pino(loggerOptions(level), stdout);
}

export type { Logger };

/** The destination stream `logger` writes its lines to. */
export function destinationOf(logger: Logger): pino.DestinationStream {
  const destination = (logger as unknown as Record<symbol, pino.DestinationStream | undefined>)[pino.symbols.streamSym];
  if (!destination) throw new Error('the logger has no destination stream');
  return destination;
}
