// The benchmark stubs' request body: {"key": ...}. Reads it and calls
// `onKey(key)`, or answers 400 when it is not JSON.
import { Buffer } from 'node:buffer';

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res @param {(key: string) => void} onKey */
export function readKey(req, res, onKey) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let key;
    try {
      key = String(JSON.parse(Buffer.concat(chunks).toString()).key);
    } catch {
      res.writeHead(400).end();
      return;
    }
    onKey(key);
  });
}
