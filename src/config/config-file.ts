/**
 * @module
 * Finds and reads the config file: a `.ts`/`.mts`/`.js`/`.mjs` module whose named exports (and/or
 * default-exported object) are settings, or a `.json` file holding one object. Hooks are
 * functions exported from it.
 */
import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { importFresh } from "./fresh-import.ts";
import { SETTING_ALIASES, getSetting, suggestSetting } from "./registry.ts";
import { ConfigError } from "./setting.ts";
import { firstLine } from "../errors.ts";

export { firstLine };

/** File names looked for in the working directory when no config file is named. */
const DEFAULT_CONFIG_FILES = ["bunicorn.config.ts", "bunicorn.config.mts", "bunicorn.config.js", "bunicorn.config.mjs", "bunicorn.config.json"];

const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx"]);

/** The default config file in `cwd`, if one exists. */
export function findDefaultConfigFile(cwd: string): string | null {
  for (const name of DEFAULT_CONFIG_FILES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  return null;
}

/** Turns `PATH` or `file:PATH` into an absolute path. */
export function resolveConfigPath(spec: string, cwd: string): string {
  if (spec.startsWith("python:")) {
    throw new ConfigError(`config: ${JSON.stringify(spec)}: python: modules are not supported; give a .ts, .js or .json file`);
  }
  return resolve(cwd, spec.startsWith("file:") ? spec.slice(5) : spec);
}

/** Reads the settings a config file sets. Unknown names are an error naming the file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {}
  if (!isFile) throw new ConfigError(`config: ${path} doesn't exist`);
  const ext = extname(path);
  let raw: Record<string, unknown>;
  if (ext === ".json") {
    let text: string;
    try {
      text = await Bun.file(path).text();
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config: ${path}: invalid JSON: ${firstLine(e)}`);
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new ConfigError(`config: ${path}: expected a JSON object of settings`);
    }
  } else if (MODULE_EXTENSIONS.has(ext)) {
    let mod: Record<string, unknown>;
    try {
      // Anew: a HUP reads the file as it is now, not as it was first imported.
      mod = await importFresh(path);
    } catch (e) {
      throw new ConfigError(`config: failed to load ${path}: ${firstLine(e)}`);
    }
    raw = {};
    const def = mod.default;
    if (def !== undefined) {
      if (def === null || typeof def !== "object" || Array.isArray(def)) {
        throw new ConfigError(`config: ${path}: the default export must be an object of settings`);
      }
      Object.assign(raw, def);
    }
    for (const [k, val] of Object.entries(mod)) if (k !== "default") raw[k] = val;
  } else {
    throw new ConfigError(`config: ${path}: unsupported file type ${JSON.stringify(ext || "(none)")}; use .ts, .js or .json`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, val] of Object.entries(raw)) {
    const setting = getSetting(key);
    if (!setting) {
      const hint = suggestSetting(key);
      throw new ConfigError(`config: ${path}: unknown setting ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ""}`);
    }
    if (val === undefined) continue;
    out[SETTING_ALIASES[key] ?? key] = val;
  }
  return out;
}

