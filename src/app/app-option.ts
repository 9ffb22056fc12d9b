/**
 * @module
 * `run({ app, base })`'s app: checked at `run()` time, and made absolute against `base` (the
 * caller's `import.meta.url`, `import.meta.dir` or a path), so a framework's launcher finds its
 * app wherever it was started from. Workers are separate processes that import the app by path:
 * an app object or function cannot reach them, nor can a worker or logger class given as a class
 * in `run({ settings })` (a config file's classes can: workers import the file again).
 */
import { statSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.ts";
import { parseAppSpec, resolveAppModule } from "./load-app.ts";

/** One line: why an object cannot be passed and what to pass instead. */
export function appObjectError(value: unknown): ConfigError {
  const kind = typeof value === "function" ? "a function" : value === null ? "null" : Array.isArray(value) ? "an array" : `an ${typeof value}`;
  return new ConfigError(
    `run(): app is ${kind}, not an APP_MODULE string: workers are separate processes that import the app themselves, and an object cannot be passed to another process; export the app from a module and pass its path, e.g. run({ app: "./server.ts:app", base: import.meta.url })`,
  );
}

/** The directory `base` names: a `file:` URL or a path, of a file (its directory) or a directory. */
export function baseDir(base: string | URL): string {
  let path: string;
  try {
    path = base instanceof URL || base.startsWith("file:") ? fileURLToPath(base) : base;
  } catch {
    throw new ConfigError(`run(): base ${JSON.stringify(String(base))} is not a file: URL or a path`);
  }
  if (!isAbsolute(path)) throw new ConfigError(`run(): base ${JSON.stringify(path)} must be absolute (pass import.meta.url or import.meta.dir)`);
  try {
    return statSync(path).isDirectory() ? path : dirname(path);
  } catch {
    return dirname(path);
  }
}

/**
 * `spec` with its module made absolute against `base` (`./app.ts:app` → `/srv/app.ts:app`),
 * resolved as `APP_MODULE` is against the working directory (extension, `index`, dotted names,
 * packages from `base`'s `node_modules`). Throws `AppLoadError` when nothing is found there.
 */
export function appRelativeTo(spec: string, base: string | URL): string {
  const parsed = parseAppSpec(spec);
  const file = resolveAppModule(parsed.module, baseDir(base));
  const rest = spec.trim().slice(parsed.module.length);
  return file + rest;
}

/**
 * The hooks that run in a worker process (or its gthread threads), not in the arbiter: given as a
 * function in `run({ settings })`, they cannot reach it (the arbiter's own hooks, `on_starting`,
 * `when_ready`, `child_exit`..., run in the caller's process and may be functions).
 */
const WORKER_HOOKS = ["post_fork", "post_worker_init", "pre_request", "post_request", "worker_int", "worker_abort", "worker_exit", "ssl_context"];

/**
 * A worker or logger class, or a worker-side hook, given as a function in `run({ settings })`:
 * why workers cannot get it, what to pass instead. (They used to be dropped silently: the
 * workers ran the default class or no hook.)
 */
export function classInCodeError(settings: Readonly<Record<string, unknown>> | undefined): ConfigError | null {
  for (const name of ["worker_class", "logger_class"]) {
    const value = settings?.[name];
    if (typeof value !== "function") continue;
    return new ConfigError(
      `${name}: a class given to run() in code cannot reach the worker processes, which import their classes themselves; give it as PATH#EXPORT (e.g. new URL("./my-class.ts", import.meta.url).pathname + "#${value.name || "MyClass"}"), egg:PACKAGE#NAME, or in a config file`,
    );
  }
  for (const name of WORKER_HOOKS) {
    const value = settings?.[name];
    if (typeof value !== "function") continue;
    return new ConfigError(
      `${name}: a function given to run() in code cannot reach the worker processes, where this hook runs; give it as PATH#EXPORT (e.g. new URL("./hooks.ts", import.meta.url).pathname + "#${value.name || name}") or put it in a config file (configFile)`,
    );
  }
  return null;
}
