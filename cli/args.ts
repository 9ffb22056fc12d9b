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
    const boolean = s.action === "store_true" || s.action === "store_false";
    args[long.slice(2)] = {
      type: boolean ? "boolean" : "string",
      description: shortHelp(s.description),
      ...(boolean ? {} : { valueHint: s.meta ?? "VALUE" }),
      ...(short ? { alias: [short.slice(1)] } : {}),
    };
    // citty renders every alias with one dash, so other long flags get their own line.
    for (const other of flags.filter((f) => f.startsWith("--") && f !== long)) {
      args[other.slice(2)] = {
        type: boolean ? "boolean" : "string",
        description: `Same as ${long}.`,
        ...(boolean ? {} : { valueHint: s.meta ?? "VALUE" }),
      };
    }
    for (const negative of s.cliNegative ?? []) {
      args[negative.slice(2)] = { type: "boolean", description: `Turn ${long} off.` };
    }
  }
  return args;
}
