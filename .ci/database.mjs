// CI helper: `create` prints the URL of a fresh database on the PostgreSQL at
// 127.0.0.1:5432 (nothing when no server answers); `drop <url>` removes it.
import pg from 'pg';

const SERVER = process.env.CI_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const [command, target] = process.argv.slice(2);

async function admin() {
  const client = new pg.Client({ connectionString: SERVER, connectionTimeoutMillis: 3000 });
  await client.connect();
  return client;
}

if (command === 'create') {
  let client;
  try {
    client = await admin();
  } catch {
    process.exit(0); // no server: tests fall back to an embedded PostgreSQL
  }
  const name = `rebound_ci_${Date.now()}_${process.pid}`;
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  process.stdout.write(url.toString());
} else if (command === 'drop' && target) {
  const name = new URL(target).pathname.slice(1);
  const client = await admin();
  await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '')}" WITH (FORCE)`);
  await client.end();
} else {
  process.stderr.write('usage: database.mjs create | drop <url>\n');
  process.exit(2);
}
