// Starts the real service (`node dist/server.js`, as `npm start` does after
// building) as a child process on a free port, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  /** Everything the process wrote so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  waitReady(timeoutMs?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startService(env: Record<string, string | undefined>, options: { port?: number } = {}): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, LOG_LEVEL: 'warn', PORT: String(port), ...env })) {
    if (v !== undefined && !k.startsWith('VITEST') && k !== 'TEST_DATABASE_URL') childEnv[k] = v;
  }
  if (env.DATABASE_URL === undefined) delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const baseUrl = `http://127.0.0.1:${port}`;
  let done = false;
  void exited.then(() => (done = true));

  return {
    child,
    port,
    baseUrl,
    output: () => output,
    exited,
    async waitReady(timeoutMs = 30_000) {
      const started = Date.now();
      while (Date.now() - started < timeoutMs) {
        if (done) throw new Error(`service exited before it was ready:\n${output}`);
        try {
          const res = await fetch(`${baseUrl}/readyz`);
          if (res.status === 200) return Date.now() - started;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`service not ready after ${timeoutMs} ms:\n${output}`);
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) child.kill(signal);
    },
  };
}
