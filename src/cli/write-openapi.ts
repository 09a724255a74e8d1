// `npm run openapi`: rewrites openapi/openapi.json from the routes.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generateOpenApiDocument, serializeOpenApiDocument } from '../openapi-document.js';

const target = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url));
await mkdir(fileURLToPath(new URL('../../openapi', import.meta.url)), { recursive: true });
await writeFile(target, serializeOpenApiDocument(await generateOpenApiDocument()));
process.stdout.write(`wrote ${target}\n`);
