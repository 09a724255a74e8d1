// The alert rules and the Grafana dashboard only use metrics the service
// registers, and compose mounts them where Prometheus and Grafana look.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/metrics.js';

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

async function registeredNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

/** Every rebound_* identifier in a PromQL expression. */
const metricNames = (expr: string) => [...expr.matchAll(/\brebound_[a-z_]+\b/g)].map((m) => m[0]);

describe('deploy/', () => {
  it('alert rules parse and every expression names registered metrics', async () => {
    const names = await registeredNames();
    const rules = parse(await read('deploy/alerts.yml')) as { groups: { rules: { alert: string; expr: string; for?: string; annotations: { summary: string } }[] }[] };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert).sort()).toEqual(['ReboundCircuitOpen', 'ReboundEscalationsWaiting', 'ReboundExecutorLagging', 'ReboundFlowFailureRatioHigh']);
    for (const rule of all) {
      const used = metricNames(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(names.has(name), `${rule.alert} uses ${name}`).toBe(true);
      expect(rule.annotations.summary).toBeTruthy();
    }
    expect(all.find((r) => r.alert === 'ReboundCircuitOpen')?.for).toBe('5m');
    expect(all.find((r) => r.alert === 'ReboundExecutorLagging')?.expr).toMatch(/0\.99.*> 5/s);
  });

  it('the dashboard covers flows, recoveries, breakers, escalations, lag and latency with registered metrics', async () => {
    const names = await registeredNames();
    const dashboard = JSON.parse(await read('deploy/grafana/dashboards/rebound.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const name of exprs.flatMap(metricNames)) expect(names.has(name), name).toBe(true);
    for (const needed of ['rebound_flows_total', 'rebound_recoveries_total', 'rebound_circuit_state', 'rebound_escalations_open', 'rebound_executor_lag_seconds_bucket', 'rebound_http_request_duration_seconds_bucket']) {
      expect(exprs.some((e) => e.includes(needed)), needed).toBe(true);
    }
  });

  it('compose provisions grafana with the dashboard and prometheus with the rules', async () => {
    const compose = parse(await read('docker-compose.yml')) as { services: Record<string, { volumes?: string[] }> };
    expect(compose.services.grafana?.volumes).toEqual(expect.arrayContaining(['./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro']));
    expect(compose.services.prometheus?.volumes).toEqual(expect.arrayContaining(['./deploy/alerts.yml:/etc/prometheus/alerts.yml:ro']));
    const prom = parse(await read('deploy/prometheus.yml')) as { rule_files: string[] };
    expect(prom.rule_files).toContain('/etc/prometheus/alerts.yml');
    const provider = parse(await read('deploy/grafana/provisioning/dashboards/rebound.yml')) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
  });
});
