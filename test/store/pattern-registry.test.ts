// The pattern registry's refresh(): a caller sees the registry as of its call,
// even when a refresh that read the version earlier is still running.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { Database } from '../../src/store/database.js';
import { createPatternRegistry } from '../../src/store/pattern-registry.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

describe('pattern registry refresh', () => {
  it('does not answer a caller with a refresh that read the version before the caller changed it', async () => {
    let releaseFirst: () => void = () => undefined;
    const gate = new Promise<void>((r) => (releaseFirst = r));
    let versionReads = 0;
    // The first version read returns its (old) answer only when the gate opens.
    const query = (async (...args: Parameters<Database['query']>) => {
      const result = await store.db().query(...args);
      const text = typeof args[0] === 'string' ? args[0] : args[0].text;
      if (text.includes('FROM pattern_registry') && ++versionReads === 1) await gate;
      return result;
    }) as Database['query'];
    const registry = createPatternRegistry({ db: { ...store.db(), query }, logger: createLogger('silent') });

    const first = registry.refresh();
    await new Promise((r) => setTimeout(r, 100)); // the first refresh has read the old version
    const { rows } = await store.db().query<{ version: string }>('UPDATE pattern_registry SET version = version + 1 WHERE id = 1 RETURNING version::text AS version');
    const second = registry.refresh();
    releaseFirst();
    await Promise.all([first, second]);

    expect(registry.version()).toBe(rows[0]!.version);
  });
});
