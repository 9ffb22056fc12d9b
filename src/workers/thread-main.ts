/**
 * @module
 * @internal The entry point of one serving thread of the `gthread` worker class (a Bun
 * `Worker` thread started by `thread-worker.ts`).
 *
 * On `init` it loads the app itself (functions and module state do not cross threads), then
 * serves every listener exactly like the default class does, by running a `ProcessWorker`
 * inside the thread: `Bun.serve({reusePort: true})` on its own socket in reuse-port mode, or
 * bunicorn's HTTP engine on its own `dup()` of the inherited fd in shared-socket mode. (Bun's
 * listener closes its fd when the thread ends, so threads must never share one fd number: a
 * terminated thread would close the socket for everyone.) `worker_connections` is therefore a
 * per-thread cap, and handler errors become a plain 500 as in the default class.
 *
 * Settings arrive without functions: the request hooks (`pre_request`, `post_request`) are
 * imported again here, from their reference or the config file, and run in the thread; the
 * other hooks run in the process's main thread. The thread's log lines go to the main thread's
 * error log.
 */
import { parentPort, threadId } from "node:worker_threads";
import { loadApp } from "../app/load-app.ts";
import { importFunctionSettings } from "../config/import-functions.ts";
import { AppLoadError, firstLine } from "../errors.ts";
import type { Settings } from "../config/registry.ts";
import type { LogMethods } from "../hook-types.ts";
import type { AccessRecord } from "../log/access-format.ts";
import { createLogger } from "../log/load-logger.ts";
import type { Logger } from "../log/logger.ts";
import { libc } from "../os/index.ts";
import type { WorkerOptions } from "./base.ts";
import type { ProcessWorker } from "./process-worker.ts";
import type { ListenerSpec } from "./protocol.ts";
import { RequestWatch } from "./request-watch.ts";
import type { FromThread, LogLevel, ThreadInit, ToThread } from "./thread-protocol.ts";
import { closeIdleOnStop } from "./stop-hint.ts";
import { resolveThreadClass } from "./worker-classes.ts";

const F_DUPFD_CLOEXEC = 1030;

const port = parentPort;
if (!port) throw new Error("thread-main.ts runs only as a Worker thread");

const post = (m: FromThread) => {
  try {
    port.postMessage(m);
  } catch {}
};

/** Log arguments as values that survive a structured clone (an Error becomes its stack). */
function cloneable(a: unknown): unknown {
  if (a === null || a === undefined || typeof a === "string" || typeof a === "number" || typeof a === "boolean") return a;
  if (a instanceof Error) return a.stack ?? a.message;
  try {
    return JSON.stringify(a) ?? String(a);
  } catch {
    return String(a);
  }
}

const forward =
  (level: LogLevel) =>
  (msg: string, ...args: unknown[]): void =>
    post({ type: "log", level, msg, args: args.map(cloneable) });

/**
 * The thread's log: error lines go to the main thread's logger; access lines are written by the
 * thread itself through an access-only logger (records hold functions, which cannot cross
 * threads; whole-line O_APPEND writes keep threads from interleaving in a shared file).
 */
let accessLog: Logger | null = null;
const log: LogMethods & { wantsRecords: boolean; access(r: AccessRecord): void; reopen(): void; close(): void } = {
  debug: forward("debug"),
  info: forward("info"),
  warning: forward("warning"),
  error: forward("error"),
  critical: forward("critical"),
  exception: forward("exception"),
  get wantsRecords() {
    return accessLog?.wantsRecords ?? false;
  },
  access: (r) => accessLog?.access(r),
  reopen: () => accessLog?.reopen(),
  close: () => accessLog?.close(),
};

let server: ProcessWorker | null = null;
/** In-flight requests and metrics for the process (src/workers/request-watch.ts), when wanted. */
let watch: RequestWatch | null = null;
let beat: ReturnType<typeof setInterval> | null = null;
let stopping = false;
let flushPending = false;

const report = () => {
  flushPending = false;
  if (server) post({ type: "beat", requests: server.requests, inFlight: server.inFlight, ...server.requestReport() });
};

// Like the process runner: an app's stray error is logged, the thread keeps serving.
process.on("uncaughtException", (e) => log.error("Uncaught exception in thread %s: %s", threadId, e instanceof Error ? (e.stack ?? e.message) : String(e)));
process.on("unhandledRejection", (e) => log.error("Unhandled rejection in thread %s: %s", threadId, e instanceof Error ? (e.stack ?? e.message) : String(e)));

/** A private fd for this thread on the same listening socket. */
function dupFd(fd: number): number {
  const lib = libc();
  if (!lib) throw new Error("cannot dup() a listener fd: bun:ffi libc is unavailable");
  const dup = lib.fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) throw new Error(`fcntl(F_DUPFD_CLOEXEC) failed on fd ${fd}`);
  return dup;
}

async function start(init: ThreadInit): Promise<void> {
  let app;
  try {
    app = await loadApp(init.app, init.cwd);
  } catch (e) {
    post({ type: "failed", appLoad: true, message: e instanceof AppLoadError ? e.message : `Exception in thread: ${firstLine(e)}` });
    return;
  }
  try {
    if (Object.keys(init.hooks).length > 0) await importFunctionSettings(init.settings, init.hooks, init.configFile);
  } catch (e) {
    post({ type: "failed", appLoad: false, message: firstLine(e) });
    return;
  }
  const cfg = init.settings as unknown as Settings;
  if (cfg.timeout > 0 || cfg.metrics_bind !== null) {
    watch = new RequestWatch({ forensics: cfg.timeout > 0, metrics: cfg.metrics_bind !== null, send: (busy) => post({ type: "busy", busy }) });
  }
  try {
    accessLog = await createLogger(cfg, "worker", init.cwd, true);
  } catch (e) {
    log.error("Cannot set up the access log in thread %s: %s", threadId, firstLine(e));
  }
  try {
    const listeners: ListenerSpec[] = init.listeners.map((l) => {
      if (l.mode !== "shared-socket") return l;
      const fd = dupFd(l.fd);
      return { ...l, fd };
    });
    // The default class, or a plugin class that extends it (src/workers/worker-classes.ts).
    const ThreadClass = await resolveThreadClass(cfg, init.cwd);
    server = new ThreadClass({
      age: init.age,
      arbiter: { pid: init.arbiterPid, cfg },
      cfg,
      log: log as unknown as WorkerOptions["log"],
      listeners,
      app,
      appSpec: init.app,
      tls: init.tls,
      watch,
      onRequestDone: () => {
        if (init.eager && !flushPending) {
          flushPending = true;
          setTimeout(report, 0);
        }
      },
    });
    await server.serve();
  } catch (e) {
    // Dups are not closed here: a listener that did start owns its fd and closes it when the
    // thread ends, and closing it twice could close an unrelated fd that reused the number.
    // At worst an unused dup leaks (a thread that cannot listen is rare).
    post({ type: "failed", appLoad: false, message: firstLine(e) });
    return;
  }
  beat = setInterval(() => {
    report();
    watch?.tick();
  }, init.beatMs);
  post({ type: "ready", threadId });
}

async function stop(graceful: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (beat) clearInterval(beat);
  const s = server;
  if (s) {
    try {
      await s.stop(graceful);
    } catch (e) {
      log.error("Error while stopping thread %s: %s", threadId, firstLine(e));
    }
  }
  post({ type: "stopped", requests: s?.requests ?? 0, ...s?.requestReport() });
  // Ends this thread only.
  process.exit(0);
}

port.on("message", (m: ToThread) => {
  if (m.type === "init") {
    start(m).catch((e) => post({ type: "failed", appLoad: false, message: firstLine(e) }));
  } else if (m.type === "stop") {
    void stop(m.graceful);
  } else if (m.type === "reopen-logs") {
    log.reopen();
  } else if (m.type === "close-idle") {
    closeIdleOnStop();
  }
});
