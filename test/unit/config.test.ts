import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'info',
      apiKeys: [],
      metricsToken: undefined,
      executorEnabled: true,
      executorConcurrency: 256,
      leaseMs: 30000,
      httpAllowedHosts: [],
      webhookSecret: undefined,
      databasePoolSize: 20,
      databasePoolMinIdle: 10,
    });
  });

  it('reads the pool sizes', () => {
    expect(loadConfig({ DATABASE_POOL_SIZE: '8', DATABASE_POOL_MIN_IDLE: '0' })).toMatchObject({ databasePoolSize: 8, databasePoolMinIdle: 0 });
  });

  it('parses every variable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/rebound',
      PORT: '8080',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      API_KEYS: 'ci:s3cret:admin, ops:o:operator,ro:v:viewer',
      METRICS_TOKEN: 'm',
      EXECUTOR_ENABLED: 'false',
      EXECUTOR_CONCURRENCY: '16',
      LEASE_MS: '5000',
      HTTP_ALLOWED_HOSTS: 'localhost,10.0.0.0/8,::1,[fd00::]/8,127.0.0.1',
      WEBHOOK_SECRET: 'w',
      ESCALATION_WEBHOOK_URL: 'https://hooks.example/esc',
    });
    expect(config.port).toBe(8080);
    expect(config.executorEnabled).toBe(false);
    expect(config.apiKeys).toEqual([
      { name: 'ci', secret: 's3cret', role: 'admin' },
      { name: 'ops', secret: 'o', role: 'operator' },
      { name: 'ro', secret: 'v', role: 'viewer' },
    ]);
    expect(config.httpAllowedHosts).toEqual([
      { kind: 'host', host: 'localhost' },
      { kind: 'cidr', address: '10.0.0.0', prefix: 8, family: 4 },
      { kind: 'cidr', address: '::1', prefix: 128, family: 6 },
      { kind: 'cidr', address: 'fd00::', prefix: 8, family: 6 },
      { kind: 'cidr', address: '127.0.0.1', prefix: 32, family: 4 },
    ]);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ API_KEYS: 'nameonly' }, 'API_KEYS'],
    [{ API_KEYS: 'a:b:root' }, 'API_KEYS'],
    [{ API_KEYS: 'a:b:admin,a:c:viewer' }, 'API_KEYS'],
    [{ HTTP_ALLOWED_HOSTS: '10.0.0.0/33' }, 'HTTP_ALLOWED_HOSTS'],
    [{ HTTP_ALLOWED_HOSTS: 'bad host!' }, 'HTTP_ALLOWED_HOSTS'],
    [{ EXECUTOR_ENABLED: 'maybe' }, 'EXECUTOR_ENABLED'],
    [{ EXECUTOR_CONCURRENCY: '0' }, 'EXECUTOR_CONCURRENCY'],
    [{ LEASE_MS: '-5' }, 'LEASE_MS'],
    [{ DATABASE_POOL_MIN_IDLE: '-1' }, 'DATABASE_POOL_MIN_IDLE'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ ESCALATION_WEBHOOK_URL: 'ftp://x' }, 'ESCALATION_WEBHOOK_URL'],
  ])('rejects %o with one line naming %s', (env, name) => {
    const message = errorOf(env);
    expect(message).toContain(`${name}:`);
    expect(message).not.toContain('\n');
  });

  it('names the role in a malformed API_KEYS entry', () => {
    expect(errorOf({ API_KEYS: 'ci:x:superuser' })).toMatch(/API_KEYS: .*superuser/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', API_KEYS: '' }).port).toBe(3000);
  });
});
