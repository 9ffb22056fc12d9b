/**
 * @module
 * @internal What a start would fail on before it serves, checked without starting: the worker
 * class, the logger class, the logging config and whether each log file can be written. Shared
 * by `--check-config` (which also loads the app) and the start itself, so that both give the same
 * one `Error:` line naming the setting, instead of a check that passes and a start that fails
 * (or prints a stack). Nothing is created: a log file is checked with `access(2)`, not opened.
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Settings } from "../config/registry.ts";
import { ConfigError } from "../errors.ts";
import { resolveLoggerClass } from "../log/load-logger.ts";
import { resolveLogConfig } from "../log/logconfig.ts";
import { isBuiltin, resolveWorkerClass } from "../workers/worker-classes.ts";

/** Targets that are not files: the std streams and syslog. */
function isFileTarget(target: string): boolean {
  return !["-", "stdout", "stderr", "/dev/stdout", "/dev/stderr", "syslog"].includes(target) && !target.startsWith("syslog:");
}

/** `ENOENT: no such file or directory` from a Node fs error. */
function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split(", ")[0]!;
}

/** Throws a `ConfigError` naming `setting` when `target` (a log file) cannot be opened for appending. */
export function checkWritableFile(setting: string, target: string, cwd: string): void {
  const path = resolve(cwd, target);
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new ConfigError(`${setting}: cannot write ${path}: it is a directory`);
  try {
    if (st) accessSync(path, constants.W_OK);
    else accessSync(dirname(path), constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new ConfigError(`${setting}: cannot write ${path}: ${reason(e)}`);
  }
}

/** The log files the settings (or the logging config) write to, each with the setting that names it. */
async function logFiles(cfg: Settings, cwd: string): Promise<Array<[setting: string, target: string]>> {
  const lc = await resolveLogConfig(cfg, cwd);
  const via = cfg.logconfig_dict && Object.keys(cfg.logconfig_dict).length > 0 ? "logconfig_dict" : cfg.logconfig_json ? "logconfig_json" : "logconfig";
  const files: Array<[string, string]> = [];
  if (lc?.error?.targets) for (const t of lc.error.targets) files.push([`${via} (error.targets)`, t]);
  else files.push(["errorlog", cfg.errorlog]);
  if (lc?.access?.targets) for (const t of lc.access.targets) files.push([`${via} (access.targets)`, t]);
  else if (cfg.accesslog) files.push(["accesslog", cfg.accesslog]);
  return files.filter(([, t]) => isFileTarget(t));
}

/** The log files only (HUP checks them before it switches to a new logger). */
export async function checkLogFiles(cfg: Settings, cwd: string): Promise<void> {
  for (const [setting, target] of await logFiles(cfg, cwd)) checkWritableFile(setting, target, cwd);
}

/**
 * The worker class, the logger class, the logging config and the log files, in the order a start
 * meets them. Throws the `ConfigError` a start would end with.
 */
export async function preflight(cfg: Settings, cwd: string): Promise<void> {
  // A built-in class needs no check, and loading it would cost the idle arbiter the whole
  // worker's code (~25 modules, about 4 MB RSS measured): it runs only in the workers.
  if (!isBuiltin(cfg.worker_class)) await resolveWorkerClass(cfg, cwd);
  await resolveLoggerClass(cfg, cwd);
  await checkLogFiles(cfg, cwd);
}
