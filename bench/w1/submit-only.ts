// Flow creation alone: W1's 1,000 submissions against a service whose
// executor is off, so POST /v1/flows is measured without execution competing.
import { fileURLToPath } from 'node:url';
import { createBenchDatabase } from '../lib/bench-database.js';
import { forEachConcurrently } from '../lib/concurrently.js';
import { SERVER_ENTRY, startProcess } from '../lib/service-process.js';
import { submitFlow } from '../lib/submit-flow.js';
import { w1Plan } from './run.js';

const FLOWS = Number(process.env.W1_FLOWS ?? 1000);
const CONCURRENCY = Number(process.env.W1_SUBMIT_CONCURRENCY ?? 64);

export async function runSubmitOnly() {
  const database = await createBenchDatabase('w1submit');
  const service = await startProcess([SERVER_ENTRY], { DATABASE_URL: database.url, HTTP_ALLOWED_HOSTS: '127.0.0.1', LOG_LEVEL: 'warn', EXECUTOR_ENABLED: 'false' });
  try {
    const tag = `submit-${Date.now()}`;
    const started = performance.now();
    await forEachConcurrently(FLOWS, CONCURRENCY, async (f) => {
      await submitFlow(service.url, w1Plan('http://127.0.0.1:9/', tag, f));
    });
    const seconds = (performance.now() - started) / 1000;
    return { flows: FLOWS, seconds, flowsPerS: FLOWS / seconds };
  } finally {
    await service.stop();
    await database.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runSubmitOnly(), null, 2));
}
