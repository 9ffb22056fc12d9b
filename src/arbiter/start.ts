/**
 * @module
 * @internal The last part of start-up, once the config is loaded and the process has its final
 * image: `chdir`, the optional preload, the worker class check, the logger, then the arbiter
 * loop. Shared by `run()` and the re-executed `bunicorn` command, which gets here from the
 * launcher's handoff without loading the settings registry (see `src/config/handoff.ts`).
 */
import { loadApp } from "../app/load-app.ts";
import type { LoadedConfig } from "../config/load.ts";
import { AppLoadError, ConfigError, firstLine, reportFatal } from "../errors.ts";
import { createLogger } from "../log/load-logger.ts";
import { PARENT_ARBITER_ENV } from "../env-names.ts";
import { Arbiter } from "./arbiter.ts";
import { preflight } from "./preflight.ts";
import { tlsStartError } from "./tls-check.ts";

export interface StartContext {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
}

/** Runs the arbiter until it stops; resolves to the process exit status. */
export async function startArbiter(loaded: LoadedConfig, ctx: StartContext): Promise<number> {
  const cfg = loaded.settings;
  if (cfg.umask && cfg.daemon) process.umask(cfg.umask);
  try {
    process.chdir(cfg.chdir);
  } catch (e) {
    return reportFatal(new ConfigError(`chdir: ${firstLine(e)}`));
  }
  // SSL settings and http_protocols bunicorn cannot serve (in these listening modes).
  const tlsError = tlsStartError(cfg, ctx.env);
  if (tlsError !== null) return reportFatal(new ConfigError(tlsError));
  if (cfg.preload_app) {
    try {
      await loadApp(loaded.app!, cfg.chdir);
    } catch (e) {
      return reportFatal(e instanceof AppLoadError ? e : new AppLoadError(firstLine(e)));
    }
  }
  let log;
  try {
    // The worker class, the logger class and the log files, as --check-config checks them, so
    // a bad one is one error line at start (src/arbiter/preflight.ts).
    await preflight(cfg, cfg.chdir);
    log = await createLogger(cfg, "arbiter", cfg.chdir);
  } catch (e) {
    return reportFatal(e);
  }
  // The control socket: a path another live server answers on is one `Error:` line; after USR2
  // the new arbiter waits for the old one to let go of it (src/arbiter/control-socket.ts).
  // Loaded only when set (an idle arbiter without it does not carry the module).
  let control: import("./control-socket.ts").ControlSocket | undefined;
  if (cfg.control_socket) {
    const { ControlSocket } = await import("./control-socket.ts");
    control = new ControlSocket();
    try {
      const parent = ctx.env[PARENT_ARBITER_ENV];
      await control.open(cfg, parent ? Number(parent) : null);
    } catch (e) {
      log.close();
      return reportFatal(e);
    }
  }
  // The metrics and health address (metrics_bind), loaded only when set: a taken address is one
  // `Error:` line; after USR2 the new arbiter takes it over from the old one (metrics-server.ts).
  let metrics: import("./metrics-server.ts").MetricsServer | undefined;
  if (cfg.metrics_bind !== null) {
    const { MetricsServer } = await import("./metrics-server.ts");
    metrics = new MetricsServer(cfg.metrics_bind);
    try {
      const parent = ctx.env[PARENT_ARBITER_ENV];
      await metrics.open(parent ? Number(parent) : null);
    } catch (e) {
      control?.close();
      log.close();
      return reportFatal(e);
    }
  }
  const arbiter = new Arbiter({ loaded, log, argv: ctx.argv, env: ctx.env, cwd: ctx.cwd, control, metrics });
  return arbiter.run();
}
