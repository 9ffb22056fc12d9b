/**
 * @module
 * @internal The loaded config, handed from the `bunicorn` command to the arbiter it becomes. The
 * command re-executes itself once to get its `ps` title (`src/os/proc-title.ts`). Rather than
 * load the config a second time, and so keep the settings registry, the command-line parser
 * (`node:util`) and the validators for good (~4 MB RSS), the new image reads what the launcher
 * resolved from a file only its user can read (`0600`, in the temp dir), named by one
 * environment variable, and deletes the file at once; it imports only the function-valued
 * settings again. (Not the config itself in the environment: Bun's `Bun.spawn` without `env`
 * passes the process's initial environment on even after `delete process.env[...]`, so a hook
 * spawning a program would hand it the whole config, and `/proc/PID/environ` would show it for
 * the arbiter's life.) The registry is loaded later only if a HUP re-reads the config.
 */
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importFunctionSettings } from "./import-functions.ts";
import type { LoadedConfig } from "./load.ts";
import type { Settings } from "./registry.ts";

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
 * change): the arbiter then loads the config itself, as before.
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
  if (!Bun.deepEquals(JSON.parse(text), handoff, true)) return null;
  return text;
}

/** Writes `text` to a new `0600` file in the temp dir; returns its path, or null if it cannot. */
export function writeHandoff(text: string): string | null {
  const path = join(tmpdir(), `bunicorn-handoff-${process.pid}-${crypto.randomUUID()}.json`);
  try {
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    return path;
  } catch {
    return null;
  }
}

/** Reads and deletes the handoff file at `path`; null when it is gone or unreadable. */
export function takeHandoff(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  } finally {
    try {
      unlinkSync(path);
    } catch {}
  }
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
