// Starts `node dist/server.js` (what `npm start` runs) for a benchmark and
// samples its peak RSS from /proc while it runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What `npm start` runs. */
export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface BenchProcess {
  child: ChildProcess;
  url: string;
  /** Highest RSS seen so far, in bytes. */
  peakRss(): number;
  stop(): Promise<number | null>;
}

function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Extra node flags for the service under test, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
function serviceNodeFlags(args: string[]): string[] {
  const flags = process.env.BENCH_SERVICE_NODE_ARGS;
  return flags && args[0] === SERVER_ENTRY ? flags.split(/\s+/).filter(Boolean) : [];
}

export async function startProcess(args: string[], env: Record<string, string>, readyPath = '/readyz'): Promise<BenchProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...serviceNodeFlags(args), ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(child.pid!))), 100);
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited: ${stderr}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() - started > 60_000) throw new Error(`not ready after 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    peakRss: () => Math.max(peak, rssOf(child.pid!)),
    stop: () =>
      new Promise((resolve) => {
        clearInterval(sampler);
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
