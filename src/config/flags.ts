/**
 * @module
 * A setting's command-line flags, worked out once from its definition (Gunicorn's
 * `Setting.add_option`, citty's `resolveArgs`). The strict parser (`cli-args.ts`), the `--help`
 * text (`cli/args.ts`) and `docs/settings.md` (`docs.ts`) all read flags through {@link flagsOf}.
 */
import type { SettingDef } from "./setting.ts";

/**
 * How a flag consumes its value.
 * - `string`: `--flag VALUE`, the last one wins.
 * - `repeatable`: `--flag VALUE` given again accumulates (`-b a -b b`).
 * - `boolean`: `--flag` alone, no value.
 */
export type FlagKind = "string" | "boolean" | "repeatable";

/** The flags of one setting. */
export interface SettingFlags {
  /** Long flags with their dashes, the main one first (`["--error-logfile", "--log-file"]`). */
  readonly long: readonly string[];
  /** The one-letter flag with its dash (`-w`), if any; it is an alias of the main long flag. */
  readonly short: string | null;
  /** Flags that set the setting to `false` (`--no-reuse-port`); they take no value. */
  readonly negative: readonly string[];
  readonly kind: FlagKind;
  /** What the long and short flags of a `boolean` setting store: `true`, or `false` for a
   * flag such as `--no-sendfile` (`store_false`). Null for the other kinds. */
  readonly sets: boolean | null;
  /** The value placeholder shown in help and docs (`INT`, default `VALUE`); null for `boolean`. */
  readonly meta: string | null;
}

const SHORT = /^-[^-]$/;

/** The flags of `setting`, or null when it has none (config file and environment only). */
export function flagsOf(setting: SettingDef): SettingFlags | null {
  const cli = setting.cli ?? [];
  const negative = setting.cliNegative ?? [];
  if (cli.length === 0 && negative.length === 0) return null;
  const boolean = setting.action === "store_true" || setting.action === "store_false";
  const kind: FlagKind = boolean ? "boolean" : setting.action === "append" ? "repeatable" : "string";
  return {
    long: cli.filter((f) => f.startsWith("--")),
    short: cli.find((f) => SHORT.test(f)) ?? null,
    negative,
    kind,
    sets: boolean ? setting.action === "store_true" : null,
    meta: boolean ? null : (setting.meta ?? "VALUE"),
  };
}
