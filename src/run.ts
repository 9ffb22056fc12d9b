/**
 * @module
 * `run()`: starts bunicorn from code, exactly as the `bunicorn` command does (frameworks call
 * this). Workers are separate processes that import the app by path, so the app is given as
 * `APP_MODULE` (`"./server.ts:app"`), not as an object.
 */
// The arbiter (src/arbiter/start.ts and all it imports), --check-config's checks and
// --print-config's printer are imported where they are used: the command's first image, which
// only loads the config and re-executes itself for its title, would load them for nothing
// (about 15 ms of its start).
import { encodeHandoff, takeHandoff, writeHandoff } from "./config/handoff.ts";
import { loadConfig, type LoadedConfig } from "./config/load.ts";
import type { Settings } from "./config/registry.ts";
import { DAEMONIZED_ENV, HANDOFF_ENV, INHERITED_FDS_ENV, LISTEN_FDS_ENV, TITLED_ENV } from "./env-names.ts";
import { AppLoadError, ConfigError, EXIT_USAGE_ERROR, firstLine, reportFatal } from "./errors.ts";
import { execWithTitle } from "./os/proc-title.ts";

export interface RunOptions {
  /**
   * `APP_MODULE`, e.g. `"./server.ts:app"`; else the `app` setting. A string: workers import the
   * app themselves, so an app object cannot be passed (one `Error:` line says so). Relative to
   * the working directory (`cwd`, `chdir`), or to `base` when given.
   */
  app?: string;
  /**
   * Where a relative `app` is found: the caller's `import.meta.url` (or `import.meta.dir`, an
   * absolute path), so `run({ app: "./server.ts:app", base: import.meta.url })` works from any
   * working directory. The app becomes an absolute path; `cwd` and `chdir` keep their meaning.
   */
  base?: string | URL;
  /** Settings in code: above the config file, below the environment and command line. */
  settings?: Partial<Settings>;
  /** Command-line arguments to parse as well (default: none). */
  argv?: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Runs the server until it stops; resolves to the process exit status. */
export async function run(options: RunOptions = {}): Promise<number> {
  const argv = [...(options.argv ?? [])];
  let app: unknown = options.app;
  const classInCode = Object.values(options.settings ?? {}).some((v) => typeof v === "function");
  if ((app != null && typeof app !== "string") || (app && options.base !== undefined) || classInCode) {
    // Objects and classes cannot reach the workers; a path relative to the caller (src/app/app-option.ts).
    const { appObjectError, appRelativeTo, classInCodeError } = await import("./app/app-option.ts");
    if (app != null && typeof app !== "string") return reportFatal(appObjectError(app));
    const classError = classInCodeError(options.settings);
    if (classError !== null) return reportFatal(classError);
    if (app && options.base !== undefined) {
      try {
        app = appRelativeTo(app as string, options.base);
      } catch (e) {
        return reportFatal(e);
      }
    }
  }
  if (app) argv.push(app as string);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ argv, env, cwd, ...(options.settings ? { overrides: options.settings } : {}) });
  } catch (e) {
    return reportFatal(e);
  }
  return runLoaded(loaded, { argv, env, cwd });
}

/** The part of `run()` after the config is loaded (shared with the CLI). */
export async function runLoaded(
  loaded: LoadedConfig,
  ctx: { argv: string[]; env: Record<string, string | undefined>; cwd: string; /** Re-exec as `bunicorn: master [NAME]` (the CLI only). */ title?: boolean },
): Promise<number> {
  const cfg = loaded.settings;
  if (cfg.print_config) {
    // The app as given (APP_MODULE or the `app` setting), not the setting alone.
    const { formatConfig } = await import("./config/print.ts");
    process.stdout.write(`${formatConfig(loaded.app ? { ...cfg, app: loaded.app } : cfg)}\n`);
    return 0;
  }
  if (!loaded.app) return reportFatal(new ConfigError("No application module specified.", EXIT_USAGE_ERROR));
  if (cfg.check_config) {
    try {
      // What a start would refuse (src/arbiter/preflight.ts, tls-check.ts), then the app.
      const { tlsStartError } = await import("./arbiter/tls-check.ts");
      const { preflight } = await import("./arbiter/preflight.ts");
      const { loadApp } = await import("./app/load-app.ts");
      const { nodeHandlerHint } = await import("./app/node-handler-hint.ts");
      const tlsError = tlsStartError(cfg, ctx.env);
      if (tlsError !== null) throw new ConfigError(tlsError);
      await preflight(cfg, cfg.chdir);
      const app = await loadApp(loaded.app, cfg.chdir);
      // An Express app under a fetch worker class, which the workers refuse (src/app/node-handler-hint.ts).
      const nodeHint = nodeHandlerHint(app, cfg.worker_class);
      if (nodeHint !== null) throw new ConfigError(`worker_class: ${nodeHint}`);
    } catch (e) {
      // Exit 1 (not 4): the check's answer is "this config does not work".
      return reportFatal(e instanceof ConfigError ? e : new ConfigError(e instanceof AppLoadError ? e.message : firstLine(e)));
    }
    return 0;
  }
  if (cfg.daemon && !ctx.env[DAEMONIZED_ENV]) {
    // Bun has no fork: start the same command detached (setsid, stdio on /dev/null) and leave.
    const stdio = cfg.enable_stdio_inheritance ? "inherit" : "ignore";
    const child = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
      cwd: ctx.cwd,
      env: { ...ctx.env, [DAEMONIZED_ENV]: "1" },
      stdio: ["ignore", stdio, stdio],
      detached: true,
    });
    child.unref();
    return 0;
  }
  if (ctx.title && !ctx.env[TITLED_ENV]) {
    // Only returns if execve failed; the server then runs untitled. The new image takes the
    // config from the handoff instead of loading it again (see src/config/handoff.ts).
    const name = cfg.proc_name ?? loaded.app ?? cfg.default_proc_name;
    const text = encodeHandoff(loaded);
    const handoff = text === null ? null : writeHandoff(text);
    const env = handoff === null ? ctx.env : { ...ctx.env, [HANDOFF_ENV]: handoff };
    // Inherited sockets from fd 4 on would not survive the exec (src/net/inherited-fds.ts).
    if (ctx.env[INHERITED_FDS_ENV] !== undefined || ctx.env[LISTEN_FDS_ENV] !== undefined) (await import("./net/inherited-fds.ts")).keepInheritedFds(ctx.env);
    execWithTitle(`bunicorn: master [${name}]`, process.execPath, [...process.execArgv, ...process.argv.slice(1)], env);
    if (handoff !== null) takeHandoff(handoff); // execve failed: remove the file
  }
  return (await import("./arbiter/start.ts")).startArbiter(loaded, ctx);
}
