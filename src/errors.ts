/**
 * @module
 * @internal Errors and exit statuses, in one place: the error classes a user mistake throws,
 * the process exit statuses, and {@link reportFatal}, which turns such an error into the one
 * `Error: ...` line and the status the command exits with.
 *
 * Its only imports are `src/config/setting.ts` and `src/build-error.ts` (which import nothing),
 * so a worker can use it without loading the settings registry.
 */
import { buildErrorLine } from "./build-error.ts";
import { ConfigError } from "./config/setting.ts";

export { ConfigError };

/** A bad setting value, config file, `chdir`, or a failed `--check-config`. */
export const EXIT_CONFIG_ERROR = 1;
/** A bad command-line flag, or no `APP_MODULE` (argparse's status). */
export const EXIT_USAGE_ERROR = 2;
/** A worker that fails before booting (Gunicorn's `WORKER_BOOT_ERROR`). */
export const WORKER_BOOT_ERROR = 3;
/** A process that cannot load the app (Gunicorn's `APP_LOAD_ERROR`). */
export const APP_LOAD_ERROR = 4;

/** The app could not be loaded: the message is one line, suitable for the error log. */
export class AppLoadError extends Error {
  override readonly name = "AppLoadError";
  readonly exitCode = APP_LOAD_ERROR;
}

/** The first line of an error's message, for one-line error reports (Bun's parse errors with their location). */
export function firstLine(e: unknown): string {
  const built = buildErrorLine(e);
  if (built !== null) return built;
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split("\n").find((l) => l.trim() !== "") ?? msg).trim();
}

/**
 * Writes a user mistake (a {@link ConfigError} or an {@link AppLoadError}) to stderr as one
 * `Error: MESSAGE` line, with no stack trace, and returns the exit status it calls for. Any
 * other error is a bug and is rethrown, to be printed in full.
 */
export function reportFatal(e: unknown): number {
  if (e instanceof ConfigError || e instanceof AppLoadError) {
    process.stderr.write(`Error: ${e.message}\n`);
    return e.exitCode;
  }
  throw e;
}
