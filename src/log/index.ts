/**
 * @module
 * `bunicorn/log`: the logger classes and the pieces they are built from, for logger plugins and
 * for code that writes bunicorn's log lines itself.
 */
export { compileAccessFormat, type AccessRecord } from "./access-format.ts";
export { createLogger, type LoggerClass } from "./load-logger.ts";
export { validateLogConfig, type LogConfig, type LogLevelName, type LogStreamConfig } from "./logconfig.ts";
export { formatLogTime, formatMessage, Logger, type LoggerOptions } from "./logger.ts";
export { StatsdLogger } from "./statsd-logger.ts";
