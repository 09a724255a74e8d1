// Fails when prisma/schema.prisma and the migrated database disagree, and
// proves every Prisma model round-trips through the real database.
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createDatabase, type Database } from '../../src/store/database.js';
import { expectedUdt, readPrismaModels, type SchemaModel } from '../helpers/prisma-schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const SCHEMA = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url));

let database: TestDatabase;
let db: Database;
let models: SchemaModel[];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, logger: createLogger('silent'), poolSize: 2 });
  models = await readPrismaModels(SCHEMA);
});

afterAll(async () => {
  await db.close();
  await database.drop();
});

interface ColumnRow {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
}

describe('schema drift', () => {
  it('every table and column of the datamodel exists with the same type and nullability, and nothing else', async () => {
    const { rows } = await db.query<ColumnRow>(
      `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const actual = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
    const expected = new Set<string>();
    for (const model of models) {
      for (const field of model.fields) {
        const key = `${model.table}.${field.column}`;
        expected.add(key);
        const column = actual.get(key);
        expect(column, `${model.name}.${field.name} -> ${key} is missing in the database`).toBeDefined();
        expect(`${key}: ${column!.udt_name}`).toBe(`${key}: ${expectedUdt(field)}`);
        // Prisma lists (String[]) are nullable columns in Postgres.
        const nullable = field.optional || field.list;
        expect(`${key} nullable: ${column!.is_nullable}`).toBe(`${key} nullable: ${nullable ? 'YES' : 'NO'}`);
      }
    }
    const unmodelled = [...actual.keys()].filter((k) => !expected.has(k));
    expect(unmodelled, 'columns in the database that prisma/schema.prisma does not declare').toEqual([]);
  });

  it('every model round-trips through Prisma', async () => {
    const p = db.prisma;
    const flowId = randomUUID();
    const now = new Date('2026-01-02T03:04:05.678Z');
    const flow = await p.flow.create({
      data: { id: flowId, name: 'f', mode: 'strict', status: 'pending', input: { a: 1 }, labels: { t: 'x' }, plan: { steps: [] }, stepsRemaining: 1, deadlineAt: now },
    });
    expect(await p.flow.findUniqueOrThrow({ where: { id: flowId } })).toEqual(flow);

    const stepRowId = randomUUID();
    const step = await p.step.create({
      data: { id: stepRowId, flowId, stepId: 's1', position: 0, kind: 'http', status: 'pending', critical: true, dependsOn: ['a', 'b'], pendingDeps: 2, config: {}, definition: { kind: 'http' }, completionOrder: 9007199254740993n, runAt: now },
    });
    expect(await p.step.findUniqueOrThrow({ where: { id: stepRowId } })).toEqual(step);

    const attempt = await p.attempt.create({
      data: { id: randomUUID(), stepRowId, flowId, stepId: 's1', phase: 'forward', number: 1, outcome: 'failed', error: { errorType: 'timeout' }, startedAt: now, finishedAt: now, durationMs: 5 },
    });
    expect(await p.attempt.findUniqueOrThrow({ where: { id: attempt.id } })).toEqual(attempt);

    const event = await p.flowEvent.create({ data: { flowId, seq: 1, type: 'flow.started', data: {} } });
    expect(await p.flowEvent.findUniqueOrThrow({ where: { flowId_seq: { flowId, seq: 1 } } })).toEqual(event);

    const escalation = await p.escalation.create({
      data: { id: randomUUID(), kind: 'approval', status: 'open', flowId, stepId: 's1', reason: 'r', allowedActions: ['complete', 'abort'], expiresAt: now },
    });
    expect(await p.escalation.findUniqueOrThrow({ where: { id: escalation.id } })).toEqual(escalation);

    const pattern = await p.errorPattern.create({
      data: { id: `p-${randomUUID().slice(0, 8)}`, name: 'n', regex: 'x+', matchOn: 'message', priority: 10, retryable: false },
    });
    expect(await p.errorPattern.findUniqueOrThrow({ where: { id: pattern.id } })).toEqual(pattern);

    const circuit = await p.circuit.create({ data: { key: `http:${randomUUID()}`, config: { failureThreshold: 2 }, openedAt: now } });
    expect(await p.circuit.findUniqueOrThrow({ where: { key: circuit.key } })).toEqual(circuit);

    const occurrence = await p.errorOccurrence.create({ data: { scope: 'pattern', key: 'k', bucketStart: now, count: 3 } });
    expect(
      await p.errorOccurrence.findUniqueOrThrow({ where: { scope_key_bucketStart: { scope: 'pattern', key: 'k', bucketStart: now } } }),
    ).toEqual(occurrence);

    const episode = await p.recoveryEpisode.create({
      data: { id: randomUUID(), flowId, stepId: 's1', strategy: 'retry', errorType: 'timeout', startedAt: now },
    });
    expect(await p.recoveryEpisode.findUniqueOrThrow({ where: { id: episode.id } })).toEqual(episode);

    expect(await p.patternRegistry.findUniqueOrThrow({ where: { id: 1 } })).toMatchObject({ version: expect.any(BigInt) });

    const delivery = await p.webhookDelivery.create({ data: { id: randomUUID(), type: 'flow.completed', flowId, target: 'notify', url: 'https://x.example', payload: { a: 1 } } });
    expect(await p.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toEqual(delivery);

    const superseded = await p.supersededTask.create({ data: { taskId: randomUUID(), flowId, stepId: 's1', supersededAt: now } });
    expect(await p.supersededTask.findUniqueOrThrow({ where: { taskId: superseded.taskId } })).toEqual(superseded);

    const modelNames = models.map((m) => m.name).sort();
    expect(modelNames).toEqual([
      'Attempt',
      'Circuit',
      'ErrorOccurrence',
      'ErrorPattern',
      'Escalation',
      'Flow',
      'FlowEvent',
      'PatternRegistry',
      'RecoveryEpisode',
      'Step',
      'SupersededTask',
      'WebhookDelivery',
    ]);
  });
});
