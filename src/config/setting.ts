/**
 * @module
 * The shape of one setting. Every setting bunicorn knows is one `SettingDef` in
 * `src/config/settings/`, and that single definition drives the command line, the config file,
 * the `BUNICORN_<NAME>` environment variable, validation, `--print-config` and `docs/settings.md`
 * (Gunicorn's `config.py` idea).
 */

/** Sections, in the order the docs list them (Gunicorn's own section names). */
export const SECTIONS = [
  "Config File",
  "Debugging",
  "Logging",
  "Process Naming",
  "SSL",
  "Security",
  "Server Hooks",
  "Server Mechanics",
  "Server Socket",
  "Worker Processes",
] as const;
export type Section = (typeof SECTIONS)[number];

/** How a command-line flag consumes its value. */
export type FlagAction =
  /** `--flag VALUE`: the last one wins. */
  | "store"
  /** `--flag VALUE` repeated: values accumulate (`-b a -b b`). */
  | "append"
  /** `--flag` alone sets `true`. */
  | "store_true"
  /** `--flag` alone sets `false` (`--no-sendfile`). */
  | "store_false";

/** Where a setting takes effect. */
export type Scope = "arbiter" | "worker" | "both" | "cli";

/**
 * How a Gunicorn setting maps onto Bun.
 * - `supported`: same meaning as in Gunicorn.
 * - `translated`: a Bun meaning that differs from the Python one; `bunNote` says how.
 * - `accepted`: parsed and validated so existing configs keep working, but it has no effect;
 *   `bunNote` says why.
 * - `not-applicable`: Python-only; setting it is an error that quotes `bunNote`.
 */
export type Support = "supported" | "translated" | "accepted" | "not-applicable";

/** A validator takes a raw value (a string from the CLI or environment, or any value from a
 * config file) and returns the typed value, or throws a {@link ConfigError}. */
export type Validator<T> = (value: unknown, name: string) => T;

export interface SettingDef<N extends string = string, T = unknown> {
  /** The setting's name, as written in a config file (`worker_class`). */
  readonly name: N;
  readonly section: Section;
  /** Command-line flags (`["-w", "--workers"]`); none means config-file and environment only. */
  readonly cli?: readonly string[];
  /** The value placeholder shown in help and docs (`INT`, `ADDRESS`). */
  readonly meta?: string;
  readonly action?: FlagAction;
  /** Extra flags that set the setting to `false` (`--no-reuse-port`). */
  readonly cliNegative?: readonly string[];
  /** The default value, computed when the config is built (some read `PORT`,
   * `WEB_CONCURRENCY`, `FORWARDED_ALLOW_IPS`, `SENDFILE` from `env`, default `process.env`). */
  readonly default: (env?: Record<string, string | undefined>) => T;
  /** How the default is shown in docs when it is not a plain value. */
  readonly defaultDoc?: string;
  readonly validate: Validator<T>;
  /** Markdown. The first sentence is the short help line. */
  readonly description: string;
  readonly scope: Scope;
  readonly support: Support;
  /** What differs on Bun, or why the setting has no effect (required unless `supported`). */
  readonly bunNote?: string;
  /** The hook's signature, shown in the docs (hooks only). */
  readonly hookSignature?: string;
}

/** A setting with its name literal and value type kept, so the `Settings` type can be derived. */
export function defineSetting<const N extends string, T>(def: SettingDef<N, T>): SettingDef<N, T> {
  return def;
}

/** A configuration error that names what was wrong; the CLI prints its message as one line. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** The process exit status the CLI uses for this error. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The environment variable that sets a setting: `BUNICORN_WORKER_CLASS`. */
export function envName(name: string): string {
  return `BUNICORN_${name.toUpperCase()}`;
}
