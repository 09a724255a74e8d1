// The timers benchmark's upstream, in its own process: POST /hit with {key}
// answers 200 at once and records when the key first arrived (epoch ms, this
// machine's clock, the same one PostgreSQL stamps with). GET /arrivals
// returns {key: ms, ...}; `repeats` counts calls for a key already seen.
import { createServer } from 'node:http';
import { readKey } from '../lib/key-body.mjs';

const arrivals = new Map();
let repeats = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') return void res.writeHead(200).end('ok');
  if (req.method === 'GET' && req.url === '/arrivals') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ arrivals: Object.fromEntries(arrivals), repeats }));
    return;
  }
  const at = Date.now();
  readKey(req, res, (key) => {
    if (arrivals.has(key)) repeats++;
    else arrivals.set(key, at);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
