#!/usr/bin/env node
// Runs `prisma generate` offline. Prisma 7's CLI insists on locating its native
// schema engine before generating, although generation itself never uses it;
// pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file (here the node
// binary) skips the download. See DEVELOPERS.md.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const args = ['node_modules/prisma/build/index.js', 'generate', ...process.argv.slice(2)];
const result = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
if (result.status !== 0) {
  process.stderr.write(`${result.stdout}${result.stderr}`);
  process.exit(result.status ?? 1);
}
