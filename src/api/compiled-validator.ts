// Fastify's validatorCompiler for the Zod route schemas, with each schema
// compiled by z.compile: generated straight-line code instead of Zod's
// interpreter walking the schema on every request. Input the compiled code
// rejects is parsed again by the schema itself, so every error and its
// message is exactly Zod's, and a schema z.compile cannot model keeps the
// runtime parser. Routes keep their original schemas, so the OpenAPI
// document is unchanged.
//
// When to compile: compiling every route's schemas takes about 0.3 s, the
// plan schema of POST /v1/flows most of it. The service compiles them while
// it starts (`eager`), so no client's request waits for it: lazily, the
// first submission after a start held the event loop for 100-260 ms
// (bench/README.md). Apps built for tests compile each schema on its
// route's first request instead, and start fast.
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface CompiledValidatorOptions {
  /** Compile each schema when its route is set up rather than on its first request. Defaults to false. */
  eager?: boolean;
  /** The compiler (z.compile unless a test counts its calls). */
  compile?: <T extends z.ZodType>(schema: T) => T;
}

export function compiledValidatorCompiler(options: CompiledValidatorOptions = {}): FastifySchemaCompiler<z.ZodType> {
  const compile = options.compile ?? ((schema) => z.compile(schema));
  return (route) => {
    if (!(route.schema instanceof z.ZodType)) return validatorCompiler(route);
    const schema = route.schema;
    const build = () => validatorCompiler({ ...route, schema: compile(schema) });
    if (options.eager) return build();
    let validate: ReturnType<typeof validatorCompiler> | undefined;
    return (data) => {
      validate ??= build();
      return validate(data);
    };
  };
}
