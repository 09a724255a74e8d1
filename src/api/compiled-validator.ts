// Fastify's validatorCompiler for the Zod route schemas, with each schema
// compiled by z.compile (once, when its route is registered): generated
// straight-line code instead of Zod's interpreter walking the schema on every
// request. Input the compiled code rejects is parsed again by the schema
// itself, so every error and its message is exactly Zod's, and a schema
// z.compile cannot model keeps the runtime parser. Routes keep their
// original schemas, so the OpenAPI document is unchanged.
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

export const compiledValidatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) =>
  validatorCompiler({ ...route, schema: route.schema instanceof z.ZodType ? z.compile(route.schema) : route.schema });
