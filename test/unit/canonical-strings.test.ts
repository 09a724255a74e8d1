// canonical(): a string read from outside comes back as the source's own
// constant. V8 concatenates a copy that has turned "thin" (used as a property
// key) into two-byte text, which made the analyze response slow to write.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('canonical', () => {
  it('returns the internalized constant equal to a copy, and an unknown value as it is', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/canonical-strings.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', fixture], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({
      copy: false,
      canonical: true,
      same: true,
      unknown: 'nope',
      // A pattern row's enum fields, as the registry loads them.
      patternFields: [true, true, true, true],
      pattern: { id: 'p', name: 'P', regex: 'x', matchOn: 'any', errorType: 'timeout', severity: 'high', retryable: null, recommendedStrategy: 'retry', priority: 1, enabled: true },
    });
  });
});
