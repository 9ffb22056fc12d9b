/**
 * @module
 * bunicorn's logging configuration (the role of Python's `logging.config` for Gunicorn's
 * `logconfig`, `logconfig_dict` and `logconfig_json`). Schema:
 *
 * ```json
 * {
 *   "error":  { "level": "info", "targets": ["-", "/var/log/app/error.log", "syslog"], "format": "text" },
 *   "access": { "targets": ["/var/log/app/access.log"], "format": "json" }
 * }
 * ```
 *
 * - `level`: `debug` | `info` | `warning` | `error` | `critical` (error log only).
 * - `targets`: `-` (stderr for the error log, stdout for the access log), `stdout`, `stderr`,
 *   a file path, `syslog` (to `syslog_addr`) or `syslog:ADDRESS`. Given targets replace
 *   `errorlog`/`accesslog`.
 * - `format`: error log `text` (Gunicorn's line) or `json`; access log an `access_log_format`
 *   string or `json`.
 *
 * `logconfig_dict` wins over `logconfig_json`, which wins over `logconfig` (a `.json`, `.ts` or
 * `.js` file whose default export is the object).
 */
import { resolve } from "node:path";
import type { Settings } from "../config/registry.ts";
import { importFresh } from "../config/fresh-import.ts";
import { ConfigError } from "../errors.ts";

export type LogLevelName = "debug" | "info" | "warning" | "error" | "critical";
const LEVELS = ["debug", "info", "warning", "error", "critical"];

export interface LogStreamConfig {
  level?: LogLevelName;
  targets?: string[];
  format?: string;
}

export interface LogConfig {
  error?: LogStreamConfig;
  access?: LogStreamConfig;
}

/** Validates an object against the schema; throws a `ConfigError` naming the setting. */
export function validateLogConfig(value: unknown, setting: string): LogConfig {
  const fail = (why: string): never => {
    throw new ConfigError(`Invalid value for ${setting}: ${why}`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail("expected an object");
  const out: LogConfig = {};
  for (const [key, stream] of Object.entries(value as Record<string, unknown>)) {
    if (key !== "error" && key !== "access") fail(`unknown key ${JSON.stringify(key)} (expected "error" or "access")`);
    if (stream === null || typeof stream !== "object" || Array.isArray(stream)) fail(`${key} must be an object`);
    const s = stream as Record<string, unknown>;
    for (const k of Object.keys(s)) if (!["level", "targets", "format"].includes(k)) fail(`unknown key ${key}.${k}`);
    if (s.level !== undefined && (typeof s.level !== "string" || !LEVELS.includes(s.level))) fail(`${key}.level must be one of ${LEVELS.join(", ")}`);
    if (s.targets !== undefined && (!Array.isArray(s.targets) || !s.targets.every((t) => typeof t === "string" && t !== ""))) fail(`${key}.targets must be a list of strings`);
    if (s.format !== undefined && typeof s.format !== "string") fail(`${key}.format must be a string`);
    if (key === "error" && s.format !== undefined && s.format !== "text" && s.format !== "json") fail(`error.format must be "text" or "json"`);
    out[key as "error" | "access"] = s as LogStreamConfig;
  }
  return out;
}

/** The effective logging config from `logconfig_dict`, `logconfig_json` or `logconfig`. */
export async function resolveLogConfig(cfg: Settings, cwd = process.cwd()): Promise<LogConfig | null> {
  if (cfg.logconfig_dict && Object.keys(cfg.logconfig_dict).length > 0) return validateLogConfig(cfg.logconfig_dict, "logconfig_dict");
  const file = cfg.logconfig_json ?? cfg.logconfig;
  const setting = cfg.logconfig_json ? "logconfig_json" : "logconfig";
  if (!file) return null;
  const path = resolve(cwd, file);
  let value: unknown;
  try {
    if (path.endsWith(".json") || setting === "logconfig_json") value = await Bun.file(path).json();
    else value = (await importFresh(path)).default; // anew: HUP re-reads it
  } catch (e) {
    throw new ConfigError(`Invalid value for ${setting}: cannot read ${path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  return validateLogConfig(value, setting);
}
