/**
 * @module
 * The objects that server hooks receive. Hooks run in two kinds of process (see docs/design.md):
 * arbiter hooks get the {@link ArbiterView}; worker hooks get a {@link WorkerView} and, where
 * Gunicorn passes the arbiter, a read-only {@link ArbiterInfo} (the arbiter's memory is not
 * shared with workers, since Bun has no `fork`).
 */
/**
 * The effective settings, as hooks see them. Declared empty here and filled in by
 * `config/registry.ts` (declaration merging), which keeps the registry's types acyclic.
 */
export interface ConfigView {}

/** The logging methods every logger offers (Gunicorn's `log.info(...)` and friends). */
export interface LogMethods {
  debug(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  warning(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
  critical(msg: string, ...args: unknown[]): void;
  exception(msg: string, ...args: unknown[]): void;
}

/** What a worker-side hook knows about the arbiter. */
export interface ArbiterInfo {
  readonly pid: number;
  readonly cfg: Readonly<ConfigView>;
}

/** The arbiter, as arbiter-side hooks see it. */
export interface ArbiterView extends ArbiterInfo {
  readonly log: LogMethods;
  /** The target number of workers; assigning it changes the pool (like TTIN/TTOU). */
  numWorkers: number;
  /** pid → worker record of the live workers. */
  readonly workers: ReadonlyMap<number, WorkerRecord>;
}

/** A worker as the arbiter tracks it (passed to `pre_fork`, `child_exit`). */
export interface WorkerRecord {
  /** 0 until spawned (`pre_fork` runs before the process exists). */
  readonly pid: number;
  /** Spawn sequence number, growing over the arbiter's life. */
  readonly age: number;
  /** Exit code once exited, else null. */
  readonly exitCode: number | null;
  /** Signal name that ended it, if any. */
  readonly signalCode: string | null;
}

/** A worker, as worker-side hooks see it (inside the worker process). */
export interface WorkerView {
  readonly pid: number;
  readonly ppid: number;
  readonly age: number;
  readonly cfg: Readonly<ConfigView>;
  readonly log: LogMethods;
  /** True until the worker is asked to stop. */
  readonly alive: boolean;
}

/** The request as `pre_request`/`post_request` see it. */
export interface HookRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly request: Request;
}
