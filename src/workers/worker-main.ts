/**
 * @module
 * @internal The entry point of a worker process, spawned by the arbiter with an IPC channel.
 * It waits for the `init` message, then: imports the function settings again (hooks, classes),
 * sets up its logger, applies `raw_env` and `chdir`, loads the app (exit 4 on failure), resolves
 * the worker class, runs `post_fork`, serves (binding its own socket in reuse-port mode), drops
 * privileges, runs `post_worker_init`, reports `booted`, and heartbeats from its event loop.
 * Any other failure before `booted` exits 3.
 */
import { loadApp } from "../app/load-app.ts";
import { nodeHandlerHint } from "../app/node-handler-hint.ts";
import { callHook } from "../config/call-hook.ts";
import { importFunctionSettings } from "../config/import-functions.ts";
import type { Settings } from "../config/registry.ts";
import { AppLoadError, APP_LOAD_ERROR, firstLine, WORKER_BOOT_ERROR } from "../errors.ts";
import type { ArbiterInfo } from "../hook-types.ts";
import { captureOutputPath, recaptureOutput } from "../log/capture-output.ts";
import { ErrorLog } from "../log/error-log.ts";
import { createLogger } from "../log/load-logger.ts";
import type { Logger } from "../log/logger.ts";
import { dropPrivileges, resolveGroup, resolveUser, setProcessComm } from "../os/index.ts";
import type { Worker } from "./base.ts";
import type { ArbiterMessage, WorkerInit, WorkerMessage } from "./protocol.ts";
import { RequestWatch } from "./request-watch.ts";
import { closeIdleOnStop } from "./stop-hint.ts";
import { resolveWorkerClass } from "./worker-classes.ts";

const send = (msg: WorkerMessage) => {
  try {
    process.send?.(msg);
  } catch {}
};

let worker: Worker | null = null;
// Until `init` brings the settings: error lines to stderr.
let log: Logger = new ErrorLog();
let exiting = false;
let cfg: Settings;
let arbiterInfo: ArbiterInfo;
/** Sends a heartbeat now (set once booted): the last one, after a graceful stop, carries the final counts. */
let heartbeat: (() => void) | null = null;

function exitNow(code: number): never {
  log.close();
  process.exit(code);
}

function runHook(name: keyof Settings, ...args: unknown[]): Promise<void> {
  return cfg ? callHook(cfg, log, name, ...args) : Promise.resolve();
}

async function gracefulExit(code = 0): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (worker) {
    worker.alive = false;
    // Reuse-port listeners close first, their connections stay (reuse-port-drain.ts): once, from
    // the main thread, before any server (gthread's threads' too) stops.
    if (worker.listeners.some((l) => l.mode === "reuse-port")) {
      try {
        (await import("./reuse-port-drain.ts")).closeReusePortListeners(worker.listeners);
      } catch (e) {
        log.error("Cannot close the listening sockets: %s", firstLine(e));
      }
    }
    try {
      await worker.stop(true);
    } catch (e) {
      log.error("Error while stopping: %s", firstLine(e));
    }
    await runHook("worker_exit", arbiterInfo, worker);
  }
  heartbeat?.();
  log.info("Worker exiting (pid: %s)", process.pid);
  exitNow(code);
}

async function quickExit(): Promise<void> {
  if (worker) await runHook("worker_int", worker);
  if (worker) void worker.stop(false);
  if (worker) await runHook("worker_exit", arbiterInfo, worker);
  exitNow(0);
}

async function boot(init: WorkerInit): Promise<void> {
  // Settings: the arbiter's values, plus the functions (hooks, classes) imported again.
  const settings = { ...init.settings } as Record<string, unknown>;
  try {
    await importFunctionSettings(settings, init.functions, init.configFile);
  } catch (e) {
    log.error("Failed to read config file: %s", firstLine(e));
    exitNow(WORKER_BOOT_ERROR);
  }
  cfg = settings as Settings;
  try {
    log = await createLogger(cfg, "worker", cfg.chdir);
  } catch (e) {
    log.error("Cannot set up logging: %s", firstLine(e));
    exitNow(WORKER_BOOT_ERROR);
  }
  arbiterInfo = { pid: init.arbiterPid, cfg };

  for (const pair of cfg.raw_env) {
    const i = pair.indexOf("=");
    process.env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  try {
    process.chdir(cfg.chdir);
  } catch (e) {
    log.error("Cannot chdir to %s: %s", cfg.chdir, firstLine(e));
    exitNow(WORKER_BOOT_ERROR);
  }

  let app;
  try {
    app = await loadApp(init.app, cfg.chdir);
  } catch (e) {
    log.error(e instanceof AppLoadError ? e.message : `Exception in worker process: ${firstLine(e)}`);
    exitNow(APP_LOAD_ERROR);
  }

  const WorkerClass = await resolveWorkerClass(cfg, cfg.chdir).catch((e) => {
    log.error(firstLine(e));
    return exitNow(WORKER_BOOT_ERROR);
  });
  // An Express app under a fetch worker class: say how to serve it (src/app/node-handler-hint.ts).
  const nodeHint = nodeHandlerHint(app, cfg.worker_class);
  if (nodeHint !== null) {
    log.error(nodeHint);
    exitNow(APP_LOAD_ERROR);
  }
  const maxRequests = cfg.max_requests > 0 ? cfg.max_requests + Math.floor(Math.random() * (cfg.max_requests_jitter + 1)) : 0;
  let retiring = false;
  // The requests in flight for the arbiter's stuck-worker forensics (with a timeout), and the
  // metrics' counts (metrics_bind): src/workers/request-watch.ts. Neither: nothing per request.
  const watch =
    cfg.timeout > 0 || cfg.metrics_bind !== null
      ? new RequestWatch({ forensics: cfg.timeout > 0, metrics: cfg.metrics_bind !== null, send: (busy) => send({ type: "busy", busy }) })
      : null;
  worker = new WorkerClass({
    watch,
    age: init.age,
    arbiter: arbiterInfo,
    cfg,
    log,
    listeners: init.listeners,
    app,
    appSpec: init.app,
    functionRefs: { functions: init.functions, configFile: init.configFile },
    onRequestDone: (served) => {
      if (maxRequests > 0 && served >= maxRequests && !retiring) {
        retiring = true;
        log.info("Autorestarting worker after current request.");
        // The arbiter starts a replacement and sends SIGTERM once it is ready, so the pool never
        // shrinks (in reuse-port mode a socket closing early resets the connections queued on it).
        send({ type: "retiring", reason: "max_requests" });
      }
    },
  });
  await runHook("post_fork", arbiterInfo, worker);

  try {
    await worker.serve();
  } catch (e) {
    if (e instanceof AppLoadError) {
      log.error(e.message);
      exitNow(APP_LOAD_ERROR);
    }
    log.error("Worker failed to start serving: %s", firstLine(e));
    exitNow(WORKER_BOOT_ERROR);
  }
  // Bind first (reuse-port sockets need root's uid to join the group), then drop privileges.
  if (cfg.user !== null || cfg.group !== null) {
    try {
      const user = cfg.user !== null ? resolveUser(cfg.user) : null;
      const gid = cfg.group !== null ? resolveGroup(cfg.group) : (user?.gid ?? process.getgid!());
      dropPrivileges({ uid: user?.uid ?? process.getuid!(), gid, initgroups: cfg.initgroups });
    } catch (e) {
      log.error("Cannot switch user/group: %s", firstLine(e));
      exitNow(WORKER_BOOT_ERROR);
    }
  }
  await runHook("post_worker_init", worker);
  send({ type: "booted" });

  const beat = Math.min(1000, Math.max(100, (cfg.timeout * 1000) / 4 || 1000));
  const w = worker;
  heartbeat = () => send({ type: "heartbeat", requests: w.requests, inFlight: w.inFlight, rss: process.memoryUsage.rss(), ...w.requestReport() });
  setInterval(() => {
    // Reparented: the arbiter is gone even if the IPC channel did not say so.
    if (process.ppid !== init.arbiterPid) void gracefulExit(0);
    heartbeat!();
    watch?.tick();
  }, beat);
}

function reopenLogs(): void {
  log.reopen();
  worker?.reopenLogs();
  const captured = cfg === undefined ? null : captureOutputPath(cfg);
  if (captured !== null) {
    try {
      recaptureOutput(captured);
    } catch (e) {
      log.error("capture_output: cannot reopen %s: %s", captured, firstLine(e));
    }
  }
}

function main(): void {
  const title = process.argv0;
  if (title.startsWith("bunicorn")) setProcessComm(title.replace(/^bunicorn: /, "bunicorn "));
  // A worker never outlives its arbiter: the IPC channel closes when the arbiter dies (and the
  // heartbeat checks the parent pid). No PR_SET_PDEATHSIG: it needs bun:ffi, ~1.3 MB RSS per worker.
  process.on("disconnect", () => void gracefulExit(0));
  process.on("SIGTERM", () => void gracefulExit(0));
  process.on("SIGINT", () => void quickExit());
  process.on("SIGQUIT", () => void quickExit());
  process.on("SIGUSR1", () => reopenLogs());
  process.on("SIGWINCH", () => {});
  process.on("SIGHUP", () => {});
  process.on("SIGABRT", () => {
    void (async () => {
      if (worker) await runHook("worker_abort", worker);
      exitNow(1);
    })();
  });
  process.on("uncaughtException", (e) => log.error("Uncaught exception in worker: %s", e instanceof Error ? (e.stack ?? e.message) : String(e)));
  process.on("unhandledRejection", (e) => log.error("Unhandled rejection in worker: %s", e instanceof Error ? (e.stack ?? e.message) : String(e)));

  process.on("message", (msg: ArbiterMessage) => {
    switch (msg.type) {
      case "init":
        boot(msg).catch((e) => {
          log.error("Exception in worker process: %s", e instanceof Error ? (e.stack ?? e.message) : String(e));
          exitNow(WORKER_BOOT_ERROR);
        });
        break;
      case "reopen-logs":
        reopenLogs();
        break;
      case "close-idle":
        closeIdleOnStop();
        break;
    }
  });
}

main();
