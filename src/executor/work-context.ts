// What the executor's work handlers need: the database, its own lease id,
// the clock and randomness (injected), the error patterns, the HTTP pool.
import type { Dispatcher } from 'undici';
import type { PatternSet } from '../domain/pattern-set.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/database.js';
import type { AddressPolicy } from '../domain/address-policy.js';
import type { BreakerGate } from './breaker-gate.js';
import type { GroupCommitter } from './group-committer.js';

export interface WorkContext {
  db: Database;
  logger: Logger;
  /** Lease owner id of this executor. */
  owner: string;
  now: () => number;
  random: () => number;
  patterns: () => PatternSet;
  agent: Dispatcher;
  breakers: BreakerGate;
  /** Writes outcomes, many per transaction. */
  committer: GroupCommitter;
  /** Addresses http actions may reach (the agent checks resolved names; IP literals are checked per request). */
  policy?: AddressPolicy | undefined;
  /**
   * True once a stop gave up waiting for work in flight: its requests are cut
   * off by us, not failed by the target, so their outcomes are not recorded
   * (no attempt spent, nothing told to a breaker); the leases are released and
   * the work runs again elsewhere.
   */
  abandoned: () => boolean;
}
