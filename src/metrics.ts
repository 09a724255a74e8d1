// The prom-client registry and every metric Rebound exports (prefix `rebound_`).
// One registry per app instance, so several apps in one process (tests) do not
// collide. Label values are bounded: route templates, never raw URLs; circuit
// keys are operator-defined (one per dependency), as documented in the README.
// Gauges of shared state are read from Postgres at scrape time (cached for a
// second), so every replica reports the same.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundHistogram } from './bound-histogram.js';
import { deferredCounter } from './deferred-counter.js';
import type { TransitionFact } from './store/transition-facts.js';

/** What the scrape-time gauges read. */
export interface SharedStateSource {
  /** Open escalations, steps due and not leased, and every breaker's state. */
  read(): Promise<{
    escalationsOpen: number;
    /** Age of the oldest open escalation, in seconds (0 when none). */
    oldestEscalationAgeSeconds: number;
    readySteps: number;
    circuits: { key: string; state: 'closed' | 'open' | 'half_open' }[];
  }>;
}

const CIRCUIT_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createMetrics(options: { shared?: SharedStateSource; inflight?: () => number } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rebound_' });
  const registers = [registry];

  let cached: { at: number; value: Awaited<ReturnType<SharedStateSource['read']>> } | undefined;
  const shared = async () => {
    if (!options.shared) return undefined;
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), value: await options.shared.read() };
    return cached.value;
  };
  let inflightSource = options.inflight;

  const m = {
    registry,
    httpRequestDuration: new BoundHistogram({
      name: 'rebound_http_request_duration_seconds',
      help: 'API request latency, by method, route template and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    flowsTotal: new Counter({ name: 'rebound_flows_total', help: 'Flows that reached a terminal status, by status.', labelNames: ['status'] as const, registers }),
    flowDuration: new Histogram({ name: 'rebound_flow_duration_seconds', help: 'Flow duration from creation to terminal status.', labelNames: ['status'] as const, buckets: SECONDS, registers }),
    stepAttemptsTotal: new Counter({ name: 'rebound_step_attempts_total', help: 'Step attempts, by kind and outcome (succeeded, failed).', labelNames: ['kind', 'outcome'] as const, registers }),
    stepAttemptDuration: new Histogram({ name: 'rebound_step_attempt_duration_seconds', help: 'Step attempt duration.', labelNames: ['kind'] as const, buckets: SECONDS, registers }),
    recoveriesTotal: new Counter({
      name: 'rebound_recoveries_total',
      help: 'Recovery episodes that ended, by the last strategy applied and outcome (succeeded, skipped, failed).',
      labelNames: ['strategy', 'outcome'] as const,
      registers,
    }),
    recoveryDuration: new Histogram({ name: 'rebound_recovery_duration_seconds', help: 'Recovery episode duration, first failure to resolution.', labelNames: ['strategy'] as const, buckets: SECONDS, registers }),
    errorsClassified: deferredCounter({ name: 'rebound_errors_classified_total', help: 'Errors classified (failed attempts and analyze requests).', labelNames: ['error_type', 'severity'] as const, registers }),
    circuitTransitionsTotal: new Counter({ name: 'rebound_circuit_transitions_total', help: 'Circuit breaker state changes made by this process.', labelNames: ['key', 'to'] as const, registers }),
    executorLag: new Histogram({
      name: 'rebound_executor_lag_seconds',
      help: 'Claim time minus due time of executor work.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    circuitState: new Gauge({
      name: 'rebound_circuit_state',
      help: 'Circuit breaker state (0 closed, 1 half-open, 2 open), read from the database.',
      labelNames: ['key'] as const,
      registers,
      async collect() {
        const s = await shared();
        this.reset();
        for (const c of s?.circuits ?? []) this.set({ key: c.key }, CIRCUIT_STATE_VALUE[c.state]);
      },
    }),
    escalationsOpen: new Gauge({
      name: 'rebound_escalations_open',
      help: 'Open escalations, read from the database.',
      registers,
      async collect() {
        const s = await shared();
        if (s) this.set(s.escalationsOpen);
      },
    }),
    escalationOldestAge: new Gauge({
      name: 'rebound_escalation_oldest_open_age_seconds',
      help: 'Age of the oldest open escalation (0 when none), read from the database.',
      registers,
      async collect() {
        const s = await shared();
        if (s) this.set(s.oldestEscalationAgeSeconds);
      },
    }),
    executorReadySteps: new Gauge({
      name: 'rebound_executor_ready_steps',
      help: 'Executor work due now and not claimed, read from the database.',
      registers,
      async collect() {
        const s = await shared();
        if (s) this.set(s.readySteps);
      },
    }),
    executorInflight: new Gauge({
      name: 'rebound_executor_inflight',
      help: 'Step executions in flight in this process.',
      registers,
      collect() {
        this.set(inflightSource?.() ?? 0);
      },
    }),
    databaseRetries: new Counter({ name: 'rebound_database_retries_total', help: 'Database calls retried after a transient error.', registers }),
    /** Where executor_inflight reads from (the executor starts after the metrics exist). */
    setInflightSource(fn: () => number) {
      inflightSource = fn;
    },
    /** Counts what a committed transaction did. */
    recordFacts(facts: TransitionFact[]) {
      for (const f of facts) {
        switch (f.kind) {
          case 'flow_ended':
            m.flowsTotal.inc({ status: f.status });
            m.flowDuration.observe({ status: f.status }, f.durationMs / 1000);
            break;
          case 'attempt':
            m.stepAttemptsTotal.inc({ kind: f.stepKind, outcome: f.outcome });
            m.stepAttemptDuration.observe({ kind: f.stepKind }, f.durationMs / 1000);
            break;
          case 'episode':
            m.recoveriesTotal.inc({ strategy: f.strategy, outcome: f.outcome });
            m.recoveryDuration.observe({ strategy: f.strategy }, f.durationMs / 1000);
            break;
          case 'classified':
            m.errorsClassified.inc(f.errorType, f.severity);
            break;
          case 'circuit':
            m.circuitTransitionsTotal.inc({ key: f.key, to: f.to });
            break;
        }
      }
    },
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
