// A validator for hot routes: the route's Zod schema converted once to JSON
// Schema and compiled by Ajv into straight-line code, instead of Zod's
// interpreter walking the schema on every request. Only for schemas without
// transforms or defaults, since Ajv checks, it does not transform. Errors keep
// Fastify's shape (instancePath, message), which the problem handler maps.
import { Ajv } from 'ajv';
import { z } from 'zod';

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });

/** A Fastify validatorCompiler; `schema` is the Zod schema of one request part. */
export function ajvFromZod({ schema }: { schema: unknown }) {
  return ajv.compile(z.toJSONSchema(schema as z.ZodType, { target: 'draft-7', io: 'input', unrepresentable: 'any' }));
}
