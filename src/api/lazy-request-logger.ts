// Fastify gives every request a child logger bound to its request id. Most
// requests never log through it (the access line has a logger of its own),
// and making a pino child costs a redaction pass over its bindings (the
// redaction paths start with a wildcard, so every binding goes through it):
// the child is made when a request first logs, not for every request.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

export class LazyRequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The child logger, made on first use. */
  get made(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings, this.options));
  }

  /** Whether the child has been made. */
  get isMade(): boolean {
    return this.#child !== undefined;
  }

  get level(): string {
    return this.made.level;
  }

  set level(level: string) {
    this.made.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.made.child(bindings, options);
  }

  fatal(...args: unknown[]): void {
    (this.made.fatal as (...a: unknown[]) => void)(...args);
  }

  error(...args: unknown[]): void {
    (this.made.error as (...a: unknown[]) => void)(...args);
  }

  warn(...args: unknown[]): void {
    (this.made.warn as (...a: unknown[]) => void)(...args);
  }

  info(...args: unknown[]): void {
    (this.made.info as (...a: unknown[]) => void)(...args);
  }

  debug(...args: unknown[]): void {
    (this.made.debug as (...a: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    (this.made.trace as (...a: unknown[]) => void)(...args);
  }

  silent(...args: unknown[]): void {
    (this.made.silent as (...a: unknown[]) => void)(...args);
  }
}

/** Fastify's childLoggerFactory: a LazyRequestLogger in place of a pino child. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
