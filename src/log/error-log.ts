/**
 * @module
 * `ErrorLog`: a `Logger` that writes only the error log to one target at one level, for code
 * that has no full settings at hand (worker threads before their config arrives).
 */
import { defaultSettings } from "../config/registry.ts";
import { Logger, type LogLevelName } from "./logger.ts";

export class ErrorLog extends Logger {
  constructor(target = "-", level: LogLevelName = "info") {
    super({ ...defaultSettings(), errorlog: target, loglevel: level, accesslog: null }, { role: "worker" });
  }
}

export { formatLogTime, formatMessage } from "./logger.ts";
