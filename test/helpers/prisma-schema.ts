// A small reader of prisma/schema.prisma for the drift test: models, their
// table names, and scalar fields with column name, type, native type and
// optionality. It understands the subset of PSL this project uses.
import { readFile } from 'node:fs/promises';

export interface SchemaField {
  name: string;
  column: string;
  type: string;
  nativeType: string | undefined;
  optional: boolean;
  list: boolean;
}

export interface SchemaModel {
  name: string;
  table: string;
  fields: SchemaField[];
}

const SCALARS = new Set(['String', 'Int', 'BigInt', 'Float', 'Decimal', 'Boolean', 'DateTime', 'Json', 'Bytes']);

export async function readPrismaModels(path: string): Promise<SchemaModel[]> {
  const text = await readFile(path, 'utf8');
  const models: SchemaModel[] = [];
  for (const match of text.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    const [, name, body] = match;
    const table = /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!;
    const fields: SchemaField[] = [];
    for (const rawLine of body!.split('\n')) {
      const line = rawLine.replace(/\/\/.*$/, '').trim();
      const field = /^(\w+)\s+(\w+)(\[\])?(\?)?(.*)$/.exec(line);
      if (!field || line.startsWith('@@')) continue;
      const [, fieldName, type, list, optional, attributes] = field;
      if (!SCALARS.has(type!)) continue; // relation fields have no column
      fields.push({
        name: fieldName!,
        column: /@map\("([^"]+)"\)/.exec(attributes!)?.[1] ?? fieldName!,
        type: type!,
        nativeType: /@db\.(\w+)/.exec(attributes!)?.[1],
        optional: optional === '?',
        list: list === '[]',
      });
    }
    models.push({ name: name!, table, fields });
  }
  return models;
}

/** The Postgres type Prisma creates for a field, as information_schema's udt_name. */
export function expectedUdt(field: SchemaField): string {
  const base = (() => {
    switch (field.nativeType ?? field.type) {
      case 'Uuid':
        return 'uuid';
      case 'Timestamptz':
        return 'timestamptz';
      case 'String':
        return 'text';
      case 'Int':
        return 'int4';
      case 'BigInt':
        return 'int8';
      case 'Float':
        return 'float8';
      case 'Boolean':
        return 'bool';
      case 'DateTime':
        return 'timestamp';
      case 'Json':
        return 'jsonb';
      case 'Bytes':
        return 'bytea';
      default:
        return `unmapped:${field.nativeType ?? field.type}`;
    }
  })();
  return field.list ? `_${base}` : base;
}
