// POST /v1/flows for a benchmark, through one keep-alive undici pool (the
// load generator shares the machine with the service under test, so it
// should cost little: `fetch` costs it about twice as much per request).
import { Agent, request } from 'undici';

const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });

/** Submits `plan`; the flow's id, or an error with the answer. */
export async function submitFlow(serviceUrl: string, plan: unknown): Promise<string> {
  const res = await request(`${serviceUrl}/v1/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan), dispatcher: agent });
  if (res.statusCode !== 202) throw new Error(`submit: ${res.statusCode} ${await res.body.text()}`);
  return ((await res.body.json()) as { id: string }).id;
}
