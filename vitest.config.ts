import { defineConfig } from 'vitest/config';

/** Durability tests start real service processes under load: they run alone, one file at a time, after the rest. */
const DURABILITY = ['test/e2e/kill-9.test.ts', 'test/e2e/replicas.test.ts', 'test/e2e/drain.test.ts', 'test/e2e/timers.test.ts', 'test/e2e/database-restart.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: DURABILITY, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'durability', include: DURABILITY, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
