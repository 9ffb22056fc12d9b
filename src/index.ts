/**
 * @module
 * bunicorn's public API for its three audiences:
 *
 * - frameworks start a server with {@link run} (what the `bunicorn` command does);
 * - config files type themselves with {@link defineConfig}, the settings types and the hook types;
 * - plugin authors extend {@link Worker} (worker classes) or {@link Logger} (logger classes).
 *
 * Lower-level pieces are subpath exports: `bunicorn/config` (loading and printing the
 * configuration, the settings registry), `bunicorn/log` (the logger classes, the access-log
 * format compiler) and `bunicorn/http` (the HTTP/1.1 engine of shared-socket mode).
 */
export { run, type RunOptions } from "./run.ts";
export type { Settings, SettingName } from "./config/registry.ts";
export { Worker, type WorkerOptions } from "./workers/base.ts";
export { Logger, type LoggerOptions, type AccessRecord } from "./log/logger.ts";
export type { LoggerClass } from "./log/load-logger.ts";
export type { ArbiterInfo, ArbiterView, HookRequest, LogMethods, WorkerRecord, WorkerView } from "./hook-types.ts";
export { VERSION } from "./version.ts";
// Behind a trusted proxy: the client's address and the mount path (also `bunicorn/forwarded`, lighter to load).
export { clientAddress, scriptName } from "./forwarded.ts";
// The request target as sent (shared-socket mode; null under Bun.serve, which normalises it first; also `bunicorn/request-target`).
export { rawTarget } from "./request-target.ts";

import type { Settings } from "./config/registry.ts";

/** Types a config file's default export: `export default defineConfig({ workers: 4 })`. */
export function defineConfig(config: Partial<Settings>): Partial<Settings> {
  return config;
}
