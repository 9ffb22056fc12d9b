/**
 * @module
 * Builds the logger the settings ask for: `logger_class` resolved by the plugin rules
 * (`default`, `simple`, `gunicorn.glogging.Logger` and `statsd` built in; `egg:PACKAGE#NAME`;
 * `PATH#EXPORT`; a class), with Gunicorn's rule that the default logger becomes the statsd one
 * when `statsd_host` is set, and the `logconfig*` settings resolved.
 */
import type { Settings } from "../config/registry.ts";
import { loadClass } from "../plugins/load-class.ts";
import { resolveLogConfig } from "./logconfig.ts";
import { Logger, type LoggerOptions } from "./logger.ts";

export type LoggerClass = new (cfg: Readonly<Settings>, options: LoggerOptions) => Logger;

const statsd = async () => (await import("./statsd-logger.ts")).StatsdLogger as LoggerClass;
const plain = async () => Logger as LoggerClass;

const BUILTIN_LOGGERS: Record<string, () => Promise<LoggerClass>> = {
  default: plain,
  simple: plain,
  "gunicorn.glogging.Logger": plain,
  statsd,
  "gunicorn.instrument.statsd.Statsd": statsd,
};

const DEFAULT_NAMES = new Set(["default", "simple", "gunicorn.glogging.Logger"]);

/** The logger class the settings ask for (a `ConfigError` naming `logger_class` when it cannot load). */
export async function resolveLoggerClass(cfg: Pick<Settings, "logger_class" | "statsd_host">, cwd = process.cwd()): Promise<LoggerClass> {
  let ref = cfg.logger_class;
  if (typeof ref === "string" && DEFAULT_NAMES.has(ref) && cfg.statsd_host) ref = "statsd";
  return loadClass<LoggerClass>(ref, "loggers", BUILTIN_LOGGERS, cwd);
}

/**
 * `accessOnly`: a logger that writes no error lines (gthread threads forward those to their
 * process and write only their own access lines).
 */
export async function createLogger(cfg: Readonly<Settings>, role: "arbiter" | "worker", cwd = process.cwd(), accessOnly = false): Promise<Logger> {
  const LoggerCls = await resolveLoggerClass(cfg, cwd);
  let logConfig = await resolveLogConfig(cfg as Settings, cwd);
  if (accessOnly) logConfig = { ...logConfig, error: { ...logConfig?.error, targets: [] } };
  return new LoggerCls(cfg, { role, logConfig });
}
