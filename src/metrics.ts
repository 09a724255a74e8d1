// The prom-client registry and every metric Rebound exports (prefix `rebound_`).
// One registry per app instance, so several apps in one process (tests) do not
// collide. Label values are bounded: route templates, never raw URLs.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rebound_' });

  const httpRequestDuration = new Histogram({
    name: 'rebound_http_request_duration_seconds',
    help: 'API request latency, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const databaseRetries = new Counter({
    name: 'rebound_database_retries_total',
    help: 'Database calls retried after a transient error.',
    registers: [registry],
  });

  return { registry, httpRequestDuration, databaseRetries };
}

export type Metrics = ReturnType<typeof createMetrics>;
