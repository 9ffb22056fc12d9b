/**
 * @module
 * @internal Gunicorn's `Current configuration:` record, logged at debug level when the arbiter
 * starts: every setting as `  name: value`, in the registry's order, with the app as given
 * (`APP_MODULE` or the `app` setting). Built from the settings object alone, so the re-executed
 * arbiter does not load the registry for it.
 */
import type { Settings } from "../config/registry.ts";

/** A value as `--print-config` shows it: JSON for data, `<function name>` for hooks and classes. */
function show(value: unknown): string {
  if (typeof value === "function") return `<function ${value.name || "anonymous"}>`;
  return JSON.stringify(value) ?? "null";
}

/** The message: `Current configuration:` and one `  name: value` line per setting. */
export function currentConfiguration(cfg: Readonly<Settings>, app: string | null): string {
  const lines = Object.entries(cfg).map(([name, value]) => `  ${name}: ${show(name === "app" && app ? app : value)}`);
  return ["Current configuration:", ...lines].join("\n");
}
