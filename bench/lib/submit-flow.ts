// POST /v1/flows for a benchmark: the flow's id, or an error with the answer.

export async function submitFlow(serviceUrl: string, plan: unknown): Promise<string> {
  const res = await fetch(`${serviceUrl}/v1/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan) });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
