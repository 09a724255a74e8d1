// openapi/openapi.json is generated from the routes and committed; this fails
// when they drift apart. Fix with `npm run openapi`.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateOpenApiDocument, serializeOpenApiDocument } from '../../src/openapi-document.js';

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  responses?: Record<string, unknown>;
}

describe('OpenAPI document', () => {
  it('matches the committed openapi/openapi.json (run `npm run openapi` to update)', async () => {
    const committed = await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
    expect(serializeOpenApiDocument(await generateOpenApiDocument())).toBe(committed);
  });

  it('gives every operation an operationId, a tag, a summary and documented responses', async () => {
    const doc = (await generateOpenApiDocument()) as { openapi: string; paths: Record<string, Record<string, Operation>> };
    expect(doc.openapi).toBe('3.1.0');
    const ids = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, `${where} operationId`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(op.operationId!), `${where} duplicate operationId`).toBe(false);
        ids.add(op.operationId!);
        expect(op.tags?.length, `${where} tags`).toBeGreaterThan(0);
        expect(op.summary, `${where} summary`).toBeTruthy();
        if (path.startsWith('/v1/')) {
          expect(Object.keys(op.responses ?? {}).some((s) => s.startsWith('4')), `${where} documents its 4xx problems`).toBe(true);
        }
      }
    }
  });
});
