/**
 * @module
 * @internal The loaded config, handed from the `bunicorn` command to the arbiter it becomes. The
 * command re-executes itself once to get its `ps` title (`src/os/proc-title.ts`); the new image
 * used to load the config a second time, and so kept the settings registry, the command-line
 * parser (`node:util`) and the validators for good (~4 MB RSS). It now reads what the launcher
 * resolved from one environment variable (removed at once, so workers and USR2 children never
 * see it) and imports only the function-valued settings again. The registry is loaded later
 * only if a HUP re-reads the config.
 */
import { importFunctionSettings } from "./import-functions.ts";
import type { LoadedConfig } from "./load.ts";
import type { Settings } from "./registry.ts";

export const HANDOFF_ENV = "BUNICORN_CONFIG_HANDOFF";

/** Well under Linux's 128 KiB limit for one environment string. */
const MAX_BYTES = 64 * 1024;

interface Handoff {
  settings: Record<string, unknown>;
  functions: Record<string, string | null>;
  sources: LoadedConfig["sources"];
  configFile: string | null;
  app: string | null;
  hookRefs: Record<string, string>;
  functionDefaults: Record<string, unknown>;
}

/**
 * The config as one JSON string, or null when it cannot travel exactly (a value JSON would
 * change, or too large): the arbiter then loads the config itself, as before.
 */
export function encodeHandoff(loaded: LoadedConfig): string | null {
  const settings: Record<string, unknown> = {};
  const functions: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(loaded.settings)) {
    if (typeof v === "function") {
      if (!(k in loaded.functionDefaults)) return null;
      settings[k] = loaded.functionDefaults[k];
      functions[k] = loaded.hookRefs[k] ?? null;
    } else settings[k] = v;
  }
  const handoff: Handoff = {
    settings,
    functions,
    sources: loaded.sources,
    configFile: loaded.configFile,
    app: loaded.app,
    hookRefs: loaded.hookRefs,
    functionDefaults: loaded.functionDefaults,
  };
  let text: string;
  try {
    text = JSON.stringify(handoff);
  } catch {
    return null;
  }
  if (text.length > MAX_BYTES || !Bun.deepEquals(JSON.parse(text), handoff, true)) return null;
  return text;
}

/** The config again, functions imported. Throws an `Error` with a one-line message. */
export async function decodeHandoff(text: string): Promise<LoadedConfig> {
  const h = JSON.parse(text) as Handoff;
  await importFunctionSettings(h.settings, h.functions, h.configFile);
  return {
    settings: h.settings as Settings,
    sources: h.sources,
    configFile: h.configFile,
    app: h.app,
    hookRefs: h.hookRefs,
    functionDefaults: h.functionDefaults,
    help: false,
    version: false,
  };
}
