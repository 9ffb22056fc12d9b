/**
 * @module
 * citty argument definitions generated from the settings registry, for `bunicorn --help`.
 * (Parsing itself is strict and lives in `src/config/cli-args.ts`.)
 */
import type { ArgsDef } from "citty";
import { SETTINGS } from "../src/config/registry.ts";

function shortHelp(description: string): string {
  const first = description.split("\n\n")[0]!.replace(/\s+/g, " ").trim();
  return first.replace(/`/g, "");
}

/** One citty arg per flagged setting, named by its long flag, plus APP_MODULE. */
export function registryArgs(): ArgsDef {
  const args: ArgsDef = {
    APP_MODULE: { type: "positional", required: false, description: "The app: PATH[:EXPORT] or MODULE:FACTORY(ARGS)" },
  };
  for (const s of SETTINGS) {
    const flags = s.cli ?? [];
    const long = flags.find((f) => f.startsWith("--"));
    if (!long) continue;
    const short = flags.find((f) => /^-[^-]$/.test(f));
    const aliases = [...flags.filter((f) => f !== long && f !== short).map((f) => f.replace(/^--?/, "")), ...(short ? [short.slice(1)] : [])];
    const boolean = s.action === "store_true" || s.action === "store_false";
    args[long.slice(2)] = {
      type: boolean ? "boolean" : "string",
      description: shortHelp(s.description),
      ...(boolean ? {} : { valueHint: s.meta ?? "VALUE" }),
      ...(aliases.length ? { alias: aliases } : {}),
    };
  }
  return args;
}
