/**
 * @module
 * Parses command-line arguments (and `BUNICORN_CMD_ARGS`) with the flags the registry declares.
 *
 * Parsing is strict, unlike citty 0.2's own parser: an unknown flag is an error, and repeatable
 * flags (`-b`, `-e`, `--reload-extra-file`) accumulate. Each setting's flags come from
 * `flagsOf` (`flags.ts`), as do the help text (`cli/args.ts`, `cli/help.ts`) and `docs/settings.md`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { SETTINGS } from "./registry.ts";
import { flagsOf } from "./flags.ts";
import { ConfigError, type SettingDef } from "./setting.ts";

/** Raw (unvalidated) values from one argument list, by setting name. */
export interface ParsedCommandLine {
  values: Record<string, unknown>;
  /** The APP_MODULE positional, if given. */
  app: string | null;
  help: boolean;
  version: boolean;
}

/** A usage error (bad flag): the CLI exits 2, like argparse. */
export class UsageError extends ConfigError {
  constructor(message: string) {
    super(message, 2);
  }
}

interface FlagTarget {
  setting: SettingDef;
  /** What a flag that takes no value stores. */
  value?: boolean;
  /** Values of a repeatable flag accumulate. */
  repeatable?: boolean;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

function buildOptions(): { options: Options; targets: Map<string, FlagTarget> } {
  const options: Options = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "v" },
  };
  const targets = new Map<string, FlagTarget>();
  for (const s of SETTINGS) {
    const flags = flagsOf(s);
    if (!flags) continue;
    const boolean = flags.kind === "boolean";
    flags.long.forEach((flag, i) => {
      const name = flag.slice(2);
      options[name] = {
        type: boolean ? "boolean" : "string",
        ...(i === 0 && flags.short ? { short: flags.short.slice(1) } : {}),
        ...(flags.kind === "repeatable" ? { multiple: true } : {}),
      };
      targets.set(name, boolean ? { setting: s, value: flags.sets === true } : { setting: s, repeatable: flags.kind === "repeatable" });
    });
    for (const flag of flags.negative) {
      const name = flag.slice(2);
      options[name] = { type: "boolean" };
      targets.set(name, { setting: s, value: false });
    }
  }
  return { options, targets };
}

let cached: ReturnType<typeof buildOptions> | undefined;

/** Parses `argv` (without the program name). `origin` names the source in error messages. */
export function parseCommandLine(argv: readonly string[], origin = "command line"): ParsedCommandLine {
  cached ??= buildOptions();
  const { options, targets } = cached;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError(`${origin}: ${describeParseError(e)}`);
  }
  const values: Record<string, unknown> = {};
  // Walk the tokens in order so that, for the same setting given by two flags, the last one wins.
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "option") continue;
    const target = targets.get(token.name);
    if (!target) continue;
    const name = target.setting.name;
    if (target.value !== undefined) {
      if (token.inlineValue) throw new UsageError(`${origin}: option --${token.name} takes no value`);
      values[name] = target.value;
    } else if (target.repeatable) {
      values[name] = [...((values[name] as string[] | undefined) ?? []), token.value ?? ""];
    } else {
      values[name] = token.value ?? "";
    }
  }
  const positionals = parsed.positionals;
  if (positionals.length > 1) throw new UsageError(`${origin}: unrecognized arguments: ${positionals.slice(1).join(" ")}`);
  return {
    values,
    app: positionals[0] ?? null,
    help: parsed.values.help === true,
    version: parsed.values.version === true,
  };
}

function describeParseError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /'([^']+)'/.exec(msg);
    return `unrecognized arguments: ${m?.[1] ?? msg}`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const m = /Option '([^']+)'/.exec(msg);
    if (/argument missing/.test(msg)) return `argument ${m?.[1]?.replace(/ <value>$/, "") ?? "?"}: expected one argument`;
    return msg.split("\n")[0]!;
  }
  return msg.split("\n")[0]!;
}
