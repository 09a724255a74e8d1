// Waits for flows to reach a terminal status without holding a database
// connection: woken by NOTIFY on the flows channel, with a shared poll (one
// query for all waiters) as the safety net.
import type { Notifier } from '../../executor/notifier.js';
import { FLOW_CHANNEL } from '../../store/channels.js';
import type { Database } from '../../store/database.js';
import { terminalFlows } from '../../store/flow-repository.js';

export function createFlowWaiters({ db, notifier, pollMs = 500 }: { db: Database; notifier?: Notifier | undefined; pollMs?: number }) {
  const waiting = new Map<string, Set<(terminal: boolean) => void>>();
  let poller: NodeJS.Timeout | undefined;

  const settle = (id: string, terminal = true) => {
    const set = waiting.get(id);
    if (!set) return;
    waiting.delete(id);
    for (const resolve of set) resolve(terminal);
  };

  const poll = async () => {
    if (waiting.size === 0) return;
    try {
      for (const id of await terminalFlows(db, [...waiting.keys()])) settle(id);
    } catch {
      // the database is away; the next poll tries again
    }
  };

  const onNotify = (payload: string) => {
    if (payload) settle(payload);
    else void poll();
  };
  notifier?.on(FLOW_CHANNEL, onNotify);

  return {
    /** Resolves true when the flow is terminal, false after `timeoutMs`. */
    async wait(flowId: string, timeoutMs: number): Promise<boolean> {
      if ((await terminalFlows(db, [flowId])).length > 0) return true;
      poller ??= setInterval(() => void poll(), pollMs);
      return new Promise<boolean>((resolve) => {
        const set = waiting.get(flowId) ?? new Set();
        waiting.set(flowId, set);
        const done = (terminal: boolean) => {
          clearTimeout(timer);
          resolve(terminal);
        };
        const timer = setTimeout(() => {
          set.delete(done);
          if (set.size === 0) waiting.delete(flowId);
          resolve(false);
        }, timeoutMs);
        set.add(done);
      });
    },
    close(): void {
      notifier?.off(FLOW_CHANNEL, onNotify);
      if (poller) clearInterval(poller);
      poller = undefined;
      for (const id of [...waiting.keys()]) settle(id, false);
    },
  };
}

export type FlowWaiters = ReturnType<typeof createFlowWaiters>;
