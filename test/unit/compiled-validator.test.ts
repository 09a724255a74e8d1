// compiledValidatorCompiler: the service compiles every route schema while
// it starts (eager), so no request waits for a compile; apps built for tests
// compile on a route's first request. Either way a schema is compiled once.
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compiledValidatorCompiler } from '../../src/api/compiled-validator.js';

const body = z.object({ name: z.string().min(1), size: z.number().int().positive() });

function route(schema: z.ZodType): FastifyRouteSchemaDef<z.ZodType> {
  return { schema, method: 'POST', url: '/things', httpPart: 'body' };
}

function counting() {
  const compiled: z.ZodType[] = [];
  const compile = <T extends z.ZodType>(schema: T): T => {
    compiled.push(schema);
    return z.compile(schema);
  };
  return { compiled, compile };
}

describe('compiledValidatorCompiler', () => {
  it('compiles while the route is set up when eager', () => {
    const { compiled, compile } = counting();
    const validate = compiledValidatorCompiler({ eager: true, compile })(route(body));
    expect(compiled).toEqual([body]);
    expect(validate({ name: 'a', size: 2 })).toEqual({ value: { name: 'a', size: 2 } });
    validate({ name: 'b', size: 3 });
    expect(compiled).toHaveLength(1);
  });

  it('compiles on the first validation otherwise, once', () => {
    const { compiled, compile } = counting();
    const validate = compiledValidatorCompiler({ compile })(route(body));
    expect(compiled).toHaveLength(0);
    validate({ name: 'a', size: 2 });
    validate({ name: '', size: 2 });
    expect(compiled).toEqual([body]);
  });

  it("rejects what the schema rejects, with Zod's own issues", () => {
    const validate = compiledValidatorCompiler({ eager: true })(route(body));
    const result = validate({ name: '', size: 1.5 }) as { error?: unknown };
    expect(result.error).toBeDefined();
    const expected = body.safeParse({ name: '', size: 1.5 });
    expect(JSON.stringify(result.error)).toContain(expected.error!.issues[0]!.message);
  });
});
