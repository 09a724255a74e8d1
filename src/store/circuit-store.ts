// Circuit breakers in Postgres: every event is applied to the row under
// FOR UPDATE, so replicas recording at the same instant never lose a count
// and half-open probes are limited across all of them.
import type pg from 'pg';
import { breakerTransition, DEFAULT_BREAKER_CONFIG, probeSlotMs, type BreakerConfig, type BreakerEvent, type BreakerResult, type BreakerState } from '../domain/breaker.js';
import type { CircuitState } from '../domain/statuses.js';
import { CIRCUIT_CHANNEL } from './channels.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface CircuitRecord {
  key: string;
  /** Effective configuration: the stored one over the defaults. */
  config: BreakerConfig;
  /** What an operator configured, or null for the defaults. */
  configured: Partial<BreakerConfig> | null;
  breaker: BreakerState;
}

interface CircuitRow {
  key: string;
  state: CircuitState;
  config: Partial<BreakerConfig> | null;
  consecutiveFailures: number;
  windowCalls: number;
  windowFailures: number;
  windowStartedAt: Date | null;
  halfOpenCalls: number;
  /** bigint[] (NULL read as empty): node-postgres gives int8 as strings. */
  probeSlots: string[] | null;
  halfOpenSuccesses: number;
  openedAt: Date | null;
  nextProbeAt: Date | null;
  forced: boolean;
  probeEpoch: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
}

export const CIRCUIT_COLUMNS = `key, state, config, consecutive_failures AS "consecutiveFailures", window_calls AS "windowCalls",
  window_failures AS "windowFailures", window_started_at AS "windowStartedAt", half_open_calls AS "halfOpenCalls",
  probe_slots AS "probeSlots", half_open_successes AS "halfOpenSuccesses", opened_at AS "openedAt", next_probe_at AS "nextProbeAt", forced,
  probe_epoch AS "probeEpoch", last_success_at AS "lastSuccessAt", last_failure_at AS "lastFailureAt"`;

const ms = (d: Date | null) => (d ? d.getTime() : null);
const date = (n: number | null) => (n === null ? null : new Date(n));

/**
 * The probe slots of a row. Only a half-open breaker has any. A row written by
 * a replica that predates probe_slots (a rolling upgrade) has a
 * half_open_calls that disagrees with them: it wins, new slots dated as that
 * replica would expire them (one probe slot before next_probe_at).
 */
function probeSlotsOf(row: CircuitRow, config: BreakerConfig): number[] {
  if (row.state !== 'half_open') return [];
  const slots = (row.probeSlots ?? []).map(Number);
  if (slots.length === row.halfOpenCalls) return slots;
  if (slots.length > row.halfOpenCalls) return slots.slice(slots.length - row.halfOpenCalls);
  const at = row.nextProbeAt ? row.nextProbeAt.getTime() - probeSlotMs(config) : Date.now();
  return [...slots, ...Array<number>(row.halfOpenCalls - slots.length).fill(at)].sort((x, y) => x - y);
}

export function toRecord(row: CircuitRow): CircuitRecord {
  const config = { ...DEFAULT_BREAKER_CONFIG, ...row.config };
  return {
    key: row.key,
    configured: row.config,
    config,
    breaker: {
      state: row.state,
      consecutiveFailures: row.consecutiveFailures,
      windowCalls: row.windowCalls,
      windowFailures: row.windowFailures,
      windowStartedAt: ms(row.windowStartedAt),
      halfOpenCalls: row.halfOpenCalls,
      probeSlots: probeSlotsOf(row, config),
      halfOpenSuccesses: row.halfOpenSuccesses,
      openedAt: ms(row.openedAt),
      nextProbeAt: ms(row.nextProbeAt),
      forced: row.forced,
      probeEpoch: row.probeEpoch,
      lastSuccessAt: ms(row.lastSuccessAt),
      lastFailureAt: ms(row.lastFailureAt),
    },
  };
}

/** Locks the key's row, creating it (closed, default config) the first time. */
export async function lockCircuit(client: Queryable, key: string): Promise<CircuitRecord> {
  const select = `SELECT ${CIRCUIT_COLUMNS} FROM circuits WHERE key = $1 FOR UPDATE`;
  let { rows } = await client.query<CircuitRow>(select, [key]);
  if (!rows[0]) {
    await client.query('INSERT INTO circuits (key) VALUES ($1) ON CONFLICT (key) DO NOTHING', [key]);
    ({ rows } = await client.query<CircuitRow>(select, [key]));
  }
  return toRecord(rows[0]!);
}

function sameState(a: BreakerState, b: BreakerState): boolean {
  return (Object.keys(a) as (keyof BreakerState)[]).every((k) =>
    k === 'probeSlots' ? a.probeSlots.length === b.probeSlots.length && a.probeSlots.every((t, i) => t === b.probeSlots[i]) : a[k] === b[k],
  );
}

export async function writeBreaker(client: Queryable, key: string, s: BreakerState): Promise<void> {
  await client.query(
    `UPDATE circuits SET state = $2, consecutive_failures = $3, window_calls = $4, window_failures = $5, window_started_at = $6,
            half_open_calls = $7, half_open_successes = $8, opened_at = $9, next_probe_at = $10, forced = $11, probe_epoch = $12,
            last_success_at = $13, last_failure_at = $14, probe_slots = $15, updated_at = now()
      WHERE key = $1`,
    [
      key,
      s.state,
      s.consecutiveFailures,
      s.windowCalls,
      s.windowFailures,
      date(s.windowStartedAt),
      s.halfOpenCalls,
      s.halfOpenSuccesses,
      date(s.openedAt),
      date(s.nextProbeAt),
      s.forced,
      s.probeEpoch,
      date(s.lastSuccessAt),
      date(s.lastFailureAt),
      s.probeSlots,
    ],
  );
}

/** Applies one event to the shared breaker in the caller's transaction. */
export async function applyBreakerEvent(client: Queryable, key: string, event: BreakerEvent, now: number): Promise<BreakerResult & { record: CircuitRecord }> {
  const record = await lockCircuit(client, key);
  const result = breakerTransition(record.breaker, event, record.config, now);
  if (!sameState(record.breaker, result.state)) await writeBreaker(client, key, result.state);
  if (result.transition) await client.query('SELECT pg_notify($1, $2)', [CIRCUIT_CHANNEL, key]);
  return { ...result, record: { ...record, breaker: result.state } };
}

/** Applies events in order under one row lock with one write; returns the final state and every state entered. */
export async function applyBreakerEvents(
  client: Queryable,
  key: string,
  events: { event: BreakerEvent; at: number }[],
): Promise<{ record: CircuitRecord; transitions: BreakerResult['transition'][] }> {
  const record = await lockCircuit(client, key);
  let state = record.breaker;
  const transitions: BreakerResult['transition'][] = [];
  for (const e of events) {
    const r = breakerTransition(state, e.event, record.config, e.at);
    if (r.transition) transitions.push(r.transition);
    state = r.state;
  }
  if (!sameState(record.breaker, state)) await writeBreaker(client, key, state);
  if (transitions.length > 0) await client.query('SELECT pg_notify($1, $2)', [CIRCUIT_CHANNEL, key]);
  return { record: { ...record, breaker: state }, transitions };
}

/** Replaces a key's configuration (omitted fields take the defaults). */
export async function configureCircuit(client: Queryable, key: string, config: Partial<BreakerConfig>): Promise<CircuitRecord> {
  const record = await lockCircuit(client, key);
  await client.query('UPDATE circuits SET config = $2, updated_at = now() WHERE key = $1', [key, JSON.stringify(config)]);
  await client.query('SELECT pg_notify($1, $2)', [CIRCUIT_CHANNEL, key]);
  return { ...record, configured: config, config: { ...DEFAULT_BREAKER_CONFIG, ...config } };
}

