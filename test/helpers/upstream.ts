// A scripted HTTP upstream on 127.0.0.1 for executor tests: per-path handlers,
// every request recorded with its headers, body and arrival time.
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  at: number;
  /** 1-based count of requests to this path so far. */
  count: number;
}

export interface StubResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait before answering, in ms. */
  delayMs?: number;
}

export type StubHandler = (req: RecordedRequest) => StubResponse | Promise<StubResponse>;

export interface Upstream {
  url: string;
  requests: RecordedRequest[];
  on(path: string, handler: StubHandler): void;
  to(path: string): RecordedRequest[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const handlers = new Map<string, StubHandler>();
  const requests: RecordedRequest[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // keep text
      }
      const count = (counts.get(path) ?? 0) + 1;
      counts.set(path, count);
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, at: Date.now(), count };
      requests.push(recorded);
      const handler: StubHandler = handlers.get(path) ?? (() => ({ status: 404, body: { message: `no stub for ${path}` } }));
      try {
        const r = await handler(recorded);
        if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
        if (res.destroyed) return;
        const payload = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
        res.writeHead(r.status ?? 200, { 'content-type': typeof r.body === 'string' ? 'text/plain' : 'application/json', ...r.headers });
        res.end(payload);
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    on: (path, handler) => void handlers.set(path, handler),
    to: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
