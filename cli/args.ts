/**
 * @module
 * Argument definitions (citty's `ArgsDef` shape) generated from the settings registry, for
 * `bunicorn --help` (`cli/help.ts` renders them); each
 * setting's flags come from `flagsOf` (`src/config/flags.ts`). (Parsing itself is strict and
 * lives in `src/config/cli-args.ts`.)
 */
import type { ArgsDef } from "citty";
import { flagsOf } from "../src/config/flags.ts";
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
    // Python-only settings are errors when set (their validator quotes why): not offered here.
    if (s.support === "not-applicable") continue;
    const flags = flagsOf(s);
    const long = flags?.long[0];
    if (!flags || !long) continue;
    const type = flags.kind === "boolean" ? "boolean" : "string";
    const valueHint = flags.meta === null ? {} : { valueHint: flags.meta };
    args[long.slice(2)] = {
      type,
      description: shortHelp(s.description),
      ...valueHint,
      ...(flags.short ? { alias: [flags.short.slice(1)] } : {}),
    };
    // Aliases are one-letter flags; other long flags get their own line.
    for (const other of flags.long.slice(1)) {
      args[other.slice(2)] = { type, description: `Same as ${long}.`, ...valueHint };
    }
    for (const negative of flags.negative) {
      args[negative.slice(2)] = { type: "boolean", description: `Turn ${long} off.` };
    }
  }
  return args;
}
