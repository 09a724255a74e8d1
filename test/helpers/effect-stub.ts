// An upstream for durability tests: it dedupes by Idempotency-Key (one effect
// per key, like a payment API), fails the first call of some keys with 503,
// and records every delivery with its time, so tests can count deliveries,
// effects and overlaps per key.
import { createServer, type Server } from 'node:http';

export interface Delivery {
  key: string;
  attempt: string;
  startedAt: number;
  endedAt: number | null;
  status: number;
  /** The connection was closed before the answer (the caller died). */
  aborted: boolean;
}

export interface EffectStub {
  url: string;
  deliveries: Delivery[];
  /** Keys whose effect happened, with the count (must be 1). */
  effects: Map<string, number>;
  /** Deliveries of the same key that were in flight at the same time. */
  overlaps: { key: string; a: Delivery; b: Delivery }[];
  /** Keys with a delivery received and not yet answered or cut off. */
  inFlightKeys(): string[];
  close(): Promise<void>;
}

export interface EffectStubOptions {
  /** Keys whose first call answers 503. */
  failOnce?: (key: string) => boolean;
  /** Answer delay, in ms. */
  delayMs?: number | ((key: string) => number);
}

export async function startEffectStub(options: EffectStubOptions = {}): Promise<EffectStub> {
  const deliveries: Delivery[] = [];
  const effects = new Map<string, number>();
  const failed = new Set<string>();
  const inFlight = new Map<string, Delivery[]>();
  const overlaps: EffectStub['overlaps'] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const d: Delivery = { key, attempt: String(req.headers['x-rebound-attempt'] ?? ''), startedAt: Date.now(), endedAt: null, status: 0, aborted: false };
      deliveries.push(d);
      const running = inFlight.get(key) ?? [];
      for (const other of running) overlaps.push({ key, a: other, b: d });
      inFlight.set(key, [...running, d]);
      const finish = () => {
        d.endedAt ??= Date.now();
        inFlight.set(key, (inFlight.get(key) ?? []).filter((x) => x !== d));
      };
      res.on('close', () => {
        if (!res.writableEnded) d.aborted = true;
        finish();
      });
      const delay = typeof options.delayMs === 'function' ? options.delayMs(key) : (options.delayMs ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (res.destroyed) return;
      if (options.failOnce?.(key) && !failed.has(key)) {
        failed.add(key);
        d.status = 503;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"try again"}');
        return;
      }
      // The effect happens once per key, however often it is delivered.
      if (!effects.has(key)) effects.set(key, 1);
      d.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    deliveries,
    effects,
    overlaps,
    inFlightKeys: () => [...inFlight].filter(([, running]) => running.length > 0).map(([key]) => key),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
