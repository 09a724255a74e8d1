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

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    base: { service: 'rebound' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/**
 * Logs go to stdout through a buffered writer (4 KiB or 100 ms, whichever
 * first) rather than one write(2) per line: at API request rates the syscall
 * was a sixth of a request's cost. Buffered lines are flushed on exit.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  if (destination) return pino(loggerOptions(level), destination);
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => stdout.flush(), 100);
  timer.unref();
  process.once('exit', () => stdout.flushSync());
  return pino(loggerOptions(level), stdout);
}

export type { Logger };

/**
 * A logger on `logger`'s destination and level that skips redaction, for
 * lines whose fields are fixed and never secret (the per-request access
 * line: method, url, status, duration). pino's redaction clones and walks
 * every object logged, which was about 4 % of a request on the hottest route
 * (see bench/README.md).
 */
export function unredactedLogger(logger: Logger): Logger {
  const destination = (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  return pino({ ...loggerOptions(logger.level), redact: undefined }, destination);
}
