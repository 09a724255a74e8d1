// The one line logged per request (method, url, status, duration, request
// id), written as text straight to the logger's destination in pino's line
// format. Its fields are fixed and never secret, so it skips pino's
// redaction and object walk: through pino the line was about 8 % of a
// request on the hottest route (bench/README.md, "Error analysis").
//
// Lines reach the destination in batches of about 16 KiB, or within
// ACCESS_FLUSH_MS of the first line of a smaller batch. The destination
// measures its whole pending buffer on every write, so one write per line
// cost more than building the line (bench/README.md, "Error analysis").
import { isoTimeOncePerMs, LOG_BASE, destinationOf, type Logger } from '../logger.js';

/** pino's number for the info level. */
const INFO = 30;
const BASE = JSON.stringify(LOG_BASE).slice(1, -1);
const str = JSON.stringify as (value: string) => string;
/** Pending text written at once, in characters. */
const FLUSH_AT_CHARS = 16 * 1024;
/** Longest a line waits for its batch, in ms. */
export const ACCESS_FLUSH_MS = 50;

export type AccessLine = (reqId: string, method: string, url: string, statusCode: number, ms: number) => void;

/** Request ids written without escaping (the ones the app makes); any other is escaped. */
const PLAIN_ID = /^[A-Za-z0-9._:-]*$/;
/** Methods written without escaping; any other is escaped. */
const PLAIN_METHODS = new Map(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => [m, `"${m}"`]));

interface Pending {
  text: string;
  flush(): void;
}

/** Writers with lines not yet written; flushed before the logger's own exit flush. */
const unflushed = new Set<Pending>();
let exitHooked = false;
function flushAllOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.prependListener('exit', () => {
    for (const pending of unflushed) pending.flush();
  });
}

/** Writes access lines to `logger`'s destination while `logger` logs at info. */
export function accessLineWriter(logger: Logger): AccessLine {
  const destination = destinationOf(logger);
  const pending: Pending = {
    text: '',
    flush() {
      unflushed.delete(pending);
      if (pending.text === '') return;
      const text = pending.text;
      pending.text = '';
      destination.write(text);
    },
  };
  const flushLater = () => pending.flush();
  flushAllOnExit();
  return (reqId, method, url, statusCode, ms) => {
    if (!logger.isLevelEnabled('info')) return;
    pending.text += `{"level":${INFO}${isoTimeOncePerMs()},${BASE},"reqId":${PLAIN_ID.test(reqId) ? `"${reqId}"` : str(reqId)},"method":${PLAIN_METHODS.get(method) ?? str(method)},"url":${str(url)},"statusCode":${statusCode},"ms":${Math.round(ms * 10) / 10},"msg":"request completed"}\n`;
    if (pending.text.length >= FLUSH_AT_CHARS) return pending.flush();
    // Unflushed lines have a flush scheduled.
    if (!unflushed.has(pending)) {
      unflushed.add(pending);
      setTimeout(flushLater, ACCESS_FLUSH_MS).unref();
    }
  };
}
