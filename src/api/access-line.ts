// The one line logged per request (method, url, status, duration, request
// id), written as text straight to the logger's destination in pino's line
// format. Its fields are fixed and never secret, so it skips pino's
// redaction and object walk: through pino the line was about 8 % of a
// request on the hottest route (bench/README.md, "Error analysis").
import { isoTimeOncePerMs, LOG_BASE, destinationOf, type Logger } from '../logger.js';

/** pino's number for the info level. */
const INFO = 30;
const BASE = JSON.stringify(LOG_BASE).slice(1, -1);
const str = JSON.stringify as (value: string) => string;

export type AccessLine = (reqId: string, method: string, url: string, statusCode: number, ms: number) => void;

/** Writes access lines to `logger`'s destination while `logger` logs at info. */
export function accessLineWriter(logger: Logger): AccessLine {
  const destination = destinationOf(logger);
  return (reqId, method, url, statusCode, ms) => {
    if (!logger.isLevelEnabled('info')) return;
    destination.write(
      `{"level":${INFO}${isoTimeOncePerMs()},${BASE},"reqId":${str(reqId)},"method":${str(method)},"url":${str(url)},"statusCode":${statusCode},"ms":${Math.round(ms * 10) / 10},"msg":"request completed"}\n`,
    );
  };
}
