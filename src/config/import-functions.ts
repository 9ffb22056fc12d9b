/**
 * @module
 * @internal Gives a process back the settings whose values are functions (hooks, and worker or
 * logger classes given as classes), which cannot travel as data: a worker gets its settings over
 * IPC, the re-executed arbiter gets them from the launcher (`handoff.ts`). The functions are
 * imported again, from their `PATH#EXPORT` reference or from the config file. Needs no settings
 * registry (the launcher has validated everything).
 */
import { firstLine } from "../errors.ts";

/** The config file's settings by name: its default-exported object, then its named exports. */
async function configFileExports(path: string): Promise<Record<string, unknown>> {
  // A JSON config holds no functions.
  if (path.endsWith(".json")) return {};
  let mod: Record<string, unknown>;
  try {
    mod = (await import(Bun.pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`config: failed to load ${path}: ${firstLine(e)}`);
  }
  const out: Record<string, unknown> = {};
  const def = mod.default;
  if (def !== null && typeof def === "object" && !Array.isArray(def)) Object.assign(out, def);
  for (const [k, v] of Object.entries(mod)) if (k !== "default") out[k] = v;
  return out;
}

/** Imports `ABSOLUTE_PATH#EXPORT`. */
async function importRef(name: string, ref: string): Promise<unknown> {
  const hash = ref.lastIndexOf("#");
  const path = ref.slice(0, hash);
  const exportName = ref.slice(hash + 1);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(Bun.pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`Invalid value for ${name}: cannot import ${path}: ${firstLine(e)}`);
  }
  const fn = mod[exportName];
  if (typeof fn !== "function") throw new Error(`Invalid value for ${name}: ${path} has no function export ${JSON.stringify(exportName)}`);
  return fn;
}

/**
 * Imports the config file (a module config runs in every process, as it always has: its
 * top-level code may set things up), then sets each setting named in `functions` to its
 * function: imported from its reference, or taken from `configFile` (a setting the file does not
 * define as a function keeps the value it has, the default). Throws an `Error` with a one-line
 * message.
 */
export async function importFunctionSettings(
  settings: Record<string, unknown>,
  functions: Readonly<Record<string, string | null>>,
  configFile: string | null,
): Promise<void> {
  const fromFile = configFile === null ? {} : await configFileExports(configFile);
  for (const [name, ref] of Object.entries(functions)) {
    if (ref !== null) {
      settings[name] = await importRef(name, ref);
      continue;
    }
    const value = fromFile[name];
    if (typeof value === "function") settings[name] = value;
  }
}
