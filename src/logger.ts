/**
 * @module
 * `bunicorn/logger`: the logger classes a plugin extends (docs/plugins.md).
 *
 * - {@link Logger}: the default class (`default`; also exported from `bunicorn`): Gunicorn's
 *   error log and access log, syslog, `logconfig*`, USR1 reopening. Override `access(record)`
 *   (and write with `writeAccessLine`) to change the access line, the level methods to route
 *   error lines, `reopen()` and `close()` for targets of your own.
 * - {@link StatsdLogger}: the `statsd` class (the default logger plus statsd metrics).
 *
 * The lower-level pieces (the access-format compiler, `createLogger`) are in `bunicorn/log`.
 */
export { Logger, type LoggerOptions, type AccessRecord } from "./log/logger.ts";
export { StatsdLogger } from "./log/statsd-logger.ts";
export type { LoggerClass } from "./log/load-logger.ts";
export type { LogLevelName } from "./log/logconfig.ts";
