/**
 * @module
 * `bunicorn/config`: loading the configuration the way the `bunicorn` command does, printing it,
 * and the settings registry every setting is defined in.
 */
export { ConfigError } from "../errors.ts";
export { loadConfig, type LoadConfigOptions, type LoadedConfig, type SettingSource } from "./load.ts";
export { formatConfig } from "./print.ts";
export { getSetting, SETTINGS, type SettingName, type Settings } from "./registry.ts";
export type { Section, SettingDef, Support } from "./setting.ts";
