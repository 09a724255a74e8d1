// Hot statements run as named prepared statements: Postgres parses and plans
// each once per connection instead of on every execution (node-postgres keeps
// the names per connection). The name is derived from the text, so a dynamic
// statement with a few shapes gets a few names.
import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';

const names = new Map<string, string>();

export function prepared(text: string, values: unknown[]): QueryConfig {
  let name = names.get(text);
  if (!name) {
    name = `rb_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return { name, text, values };
}
