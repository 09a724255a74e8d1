// Opaque list cursors: base64url JSON of the last item's sort key.
import { BadRequestError } from './problems.js';

export interface TimeCursor {
  createdAt: string;
  id: string;
}

export function encodeCursor(c: TimeCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

/** What encodeCursor writes: toISOString of a stored time (years 0001-9999, which Postgres also reads). */
const ISO_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A real instant written as toISOString writes it: Date.parse rolls 2020-02-30 over to March 1, Postgres refuses it. */
function isStoredTime(text: string): boolean {
  if (!ISO_TIME.test(text)) return false;
  const t = Date.parse(text);
  return !Number.isNaN(t) && new Date(t).toISOString() === text;
}

export function decodeCursor(cursor: string): TimeCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && isStoredTime(createdAt) && typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) {
      return { createdAt, id };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('invalid cursor', [{ path: '$query.cursor', message: 'not a cursor returned by this API' }]);
}
