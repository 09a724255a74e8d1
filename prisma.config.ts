// Prisma CLI configuration. The service never uses the CLI at run time: it
// applies prisma/migrations itself (src/store/migrator.ts) and connects through
// @prisma/adapter-pg. The URL here only serves `prisma migrate status/deploy`
// on machines that have Prisma's schema engine.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/rebound' },
});
