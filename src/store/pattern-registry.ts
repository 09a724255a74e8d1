// The error patterns every classifier in this process uses, compiled once
// into an RE2 set. Reloaded when the registry version changes: on NOTIFY
// (fast) and by a version check every second (safety net), so every replica
// sees a change within about a second.
import { compilePatternSet, EMPTY_PATTERN_SET, withCanonicalNames, type ErrorPatternDefinition, type PatternSet } from '../domain/pattern-set.js';
import { checkRegex } from '../domain/plan-validation.js';
import type { Notifier } from '../executor/notifier.js';
import type { Logger } from '../logger.js';
import { PATTERN_CHANNEL } from './channels.js';
import type { Database } from './database.js';

export interface PatternRegistry {
  /** The current compiled set (never blocks). */
  current(): PatternSet;
  version(): string;
  /** Loads now if the version moved. */
  refresh(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

export function createPatternRegistry({ db, notifier, logger, checkIntervalMs = 1000 }: { db: Database; notifier?: Notifier | undefined; logger: Logger; checkIntervalMs?: number }): PatternRegistry {
  let set: PatternSet = EMPTY_PATTERN_SET;
  let loadedVersion = '';
  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> | undefined;

  async function load(version: string): Promise<void> {
    const { rows } = await db.query<ErrorPatternDefinition>(
      `SELECT id, name, regex, match_on AS "matchOn", error_type AS "errorType", severity, retryable,
              recommended_strategy AS "recommendedStrategy", priority, enabled
         FROM error_patterns WHERE enabled`,
    );
    const valid = rows
      .filter((p) => {
        const problem = checkRegex(p.regex);
        if (problem) logger.warn({ patternId: p.id, problem }, 'skipping an error pattern RE2 cannot compile');
        return !problem;
      })
      .map(withCanonicalNames);
    set = compilePatternSet(valid);
    loadedVersion = version;
    logger.debug({ version, patterns: valid.length }, 'error patterns loaded');
  }

  async function refresh(): Promise<void> {
    // A refresh already running may have read the version before the caller's change:
    // let it end, then read again (callers arriving meanwhile share the new one).
    if (refreshing) await refreshing.catch(() => undefined);
    refreshing ??= (async () => {
      const { rows } = await db.query<{ version: string }>('SELECT version::text AS version FROM pattern_registry WHERE id = 1');
      const version = rows[0]?.version ?? '0';
      if (version !== loadedVersion) await load(version);
    })().finally(() => (refreshing = undefined));
    return refreshing;
  }

  const onNotify = () => void refresh().catch((error: unknown) => logger.warn({ err: error }, 'error pattern reload failed'));

  return {
    current: () => set,
    version: () => loadedVersion,
    refresh,
    async start() {
      await refresh();
      notifier?.on(PATTERN_CHANNEL, onNotify);
      timer = setInterval(onNotify, checkIntervalMs);
    },
    stop() {
      notifier?.off(PATTERN_CHANNEL, onNotify);
      if (timer) clearInterval(timer);
    },
  };
}
