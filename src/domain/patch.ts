// `patch` objects of corrections, degradations and escalation answers: dotted
// paths into a step definition mapped to new values, applied to a copy.

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Returns a deep copy of `target` with every `path: value` of `patch` set. */
export function applyPatch<T>(target: T, patch: Record<string, unknown>): T {
  const copy = structuredClone(target) as Record<string, unknown>;
  for (const [path, value] of Object.entries(patch)) {
    const parts = path.split('.');
    if (parts.some((p) => FORBIDDEN.has(p) || p === '')) continue;
    let node: Record<string, unknown> = copy;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts.at(-1)!] = structuredClone(value);
  }
  return copy as T;
}
