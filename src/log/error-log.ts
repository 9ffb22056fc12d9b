/**
 * @module
 * `ErrorLog`: a `Logger` that writes only the error log to one target at one level, for code
 * that has no full settings at hand (worker threads before their config arrives).
 */
import type { Settings } from "../config/registry.ts";
import { Logger, type LogLevelName } from "./logger.ts";

/** The settings `Logger` reads, for an error log only (no registry needed: workers use this before their settings arrive). */
function errorLogSettings(target: string, level: LogLevelName): Settings {
  return {
    errorlog: target,
    loglevel: level,
    accesslog: null,
    access_log_format: "",
    disable_redirect_access_to_syslog: false,
    syslog: false,
    syslog_addr: "udp://localhost:514",
    syslog_facility: "user",
    syslog_prefix: null,
    proc_name: null,
    logconfig: null,
    logconfig_dict: {},
    logconfig_json: null,
  } as Partial<Settings> as Settings;
}

export class ErrorLog extends Logger {
  constructor(target = "-", level: LogLevelName = "info") {
    super(errorLogSettings(target, level), { role: "worker" });
  }
}

export { formatLogTime, formatMessage } from "./logger.ts";
