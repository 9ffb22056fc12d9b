/**
 * @module
 * bunicorn's public API, all from one entry point:
 *
 * - frameworks start a server with {@link run} (what the `bunicorn` command does);
 * - config files type themselves with {@link defineConfig} and the hook types;
 * - plugin authors extend {@link Worker} (worker classes) and use the types of the hook objects.
 */
export { run, type RunOptions } from "./run.ts";
export { loadConfig, type LoadConfigOptions, type LoadedConfig, type SettingSource } from "./config/load.ts";
export { SETTINGS, getSetting, type Settings, type SettingName } from "./config/registry.ts";
export { type SettingDef, type Section, type Support } from "./config/setting.ts";
export { AppLoadError, APP_LOAD_ERROR, ConfigError, WORKER_BOOT_ERROR } from "./errors.ts";
export { formatConfig } from "./config/print.ts";
export { loadApp, parseAppSpec, type FetchApp, type AppLike } from "./app/load-app.ts";
export { Worker, type WorkerOptions } from "./workers/base.ts";
export { type ListenerSpec } from "./workers/protocol.ts";
export { loadClass, type PluginKind } from "./plugins/load-class.ts";
export { Logger, formatLogTime, formatMessage, type LoggerOptions, type AccessRecord, type LogLevelName } from "./log/logger.ts";
export { StatsdLogger } from "./log/statsd-logger.ts";
export { createLogger, BUILTIN_LOGGERS, type LoggerClass } from "./log/load-logger.ts";
export { compileAccessFormat, ATOMS } from "./log/access-format.ts";
export { validateLogConfig, type LogConfig, type LogStreamConfig } from "./log/logconfig.ts";
export { serveHttp, type HttpEngine, type HttpEngineOptions } from "./http/index.ts";
export type { ArbiterInfo, ArbiterView, HookRequest, LogMethods, WorkerRecord, WorkerView } from "./hook-types.ts";
export { VERSION } from "./version.ts";

import type { Settings } from "./config/registry.ts";

/** Types a config file's default export: `export default defineConfig({ workers: 4 })`. */
export function defineConfig(config: Partial<Settings>): Partial<Settings> {
  return config;
}
