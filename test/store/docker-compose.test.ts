// No Docker engine runs here, so the compose file and Dockerfile are checked
// statically: services, wiring, environment, ports and healthchecks.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

describe('docker-compose.yml', () => {
  it('wires postgres -> rebound -> prometheus with healthchecks', async () => {
    const compose = parse(await read('docker-compose.yml')) as { services: Record<string, ComposeService> };
    const { postgres, rebound, prometheus } = compose.services;
    expect(postgres?.image).toMatch(/^postgres:16/);
    expect(postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');

    expect(rebound?.build).toBe('.');
    expect(rebound?.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(rebound?.ports).toContain('3000:3000');
    expect(rebound?.healthcheck?.test.join(' ')).toContain('/readyz');
    const env = rebound!.environment!;
    const url = new URL(env.DATABASE_URL!);
    expect(url.hostname).toBe('postgres');
    expect(url.username).toBe(postgres!.environment!.POSTGRES_USER);
    expect(url.password).toBe(postgres!.environment!.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${postgres!.environment!.POSTGRES_DB}`);
    expect(env.HOST).toBe('0.0.0.0');
    // The environment the service gets must pass its own config validation.
    expect(() => loadConfig(env)).not.toThrow();

    expect(prometheus?.volumes?.some((v) => v.startsWith('./deploy/prometheus.yml:'))).toBe(true);
    const prom = parse(await read('deploy/prometheus.yml')) as { scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[] };
    expect(prom.scrape_configs[0]!.metrics_path).toBe('/metrics');
    expect(prom.scrape_configs[0]!.static_configs[0]!.targets).toContain(`rebound:${env.PORT}`);
  });

  it('Dockerfile builds in stages, runs as non-root on 0.0.0.0, starts node directly with a /readyz healthcheck', async () => {
    const dockerfile = await read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/^HEALTHCHECK[\s\S]*\/readyz/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/server\.js"\]$/m);
  });
});
