// W1's upstream, in its own process: POST /op with {key} answers 200 at once,
// except the first call for a key whose hash mod 10 == 0 answers 503. Counts
// calls and duplicate successes per key; GET /stats reports them.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readKey } from '../lib/key-body.mjs';

const calls = new Map();
const succeeded = new Map();
let duplicates = 0;
let total = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ total, keys: calls.size, duplicates }));
    return;
  }
  if (req.method === 'GET' && req.url === '/readyz') return void res.writeHead(200).end('ok');
  readKey(req, res, (key) => {
    total++;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    const hashed = createHash('sha1').update(key).digest().readUInt32BE(0);
    if (n === 1 && hashed % 10 === 0) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"try again"}');
      return;
    }
    if (succeeded.has(key)) duplicates++;
    succeeded.set(key, true);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
