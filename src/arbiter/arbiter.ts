/**
 * @module
 * The arbiter (master process): owns the config, the listeners, the signals and the worker
 * table. Signal handlers only enqueue; one loop takes from the queue and acts, then kills hung
 * workers, reaps the dead and tops the pool up (Gunicorn's `Arbiter.run`). Bun merges repeated
 * signals, so the loop never counts on one handler call per signal sent.
 */
import { closeSync, openSync } from "node:fs";
import type { Subprocess } from "bun";
import { INHERITED_FDS_ENV, LISTEN_FDS_ENV, LISTEN_PID_ENV, PARENT_ARBITER_ENV, TITLED_ENV } from "../env-names.ts";
import { APP_LOAD_ERROR, ConfigError, EXIT_CONFIG_ERROR, firstLine, WORKER_BOOT_ERROR } from "../errors.ts";
import type { LoadConfigOptions, LoadedConfig } from "../config/load.ts";
import type { Settings } from "../config/registry.ts";
import { callHook } from "../config/call-hook.ts";
import type { ArbiterView, WorkerRecord } from "../hook-types.ts";
import { captureOutputPath } from "../log/capture-output.ts";
import { createLogger } from "../log/load-logger.ts";
import type { Logger } from "../log/logger.ts";
import { isPid1, OrphanReaper, setProcessComm, tcpMigrateReq } from "../os/process.ts";
import { VERSION } from "../version.ts";
import type { ArbiterMessage, WorkerMessage } from "../workers/protocol.ts";
import { formatBusy, type BusyRequest, type RequestCounts } from "../workers/request-report.ts";
import { workerClassName } from "../workers/worker-classes.ts";
import { currentConfiguration } from "./config-log.ts";
import { ServiceNotifier } from "./service-notify.ts";
import { clampedLimitWarnings } from "./limit-warnings.ts";
import { closeListeners, openListeners, workerListenerSpecs, type Listener } from "./listeners.ts";
import type { Pidfile } from "./pidfile.ts";
import { arbiterStats, workersStats, type ArbiterStats, type WorkerStats } from "./stats.ts";
import type { ControlSignal, ControlTarget, ListenerInfo } from "./control-commands.ts";
import type { ControlSocket } from "./control-socket.ts";
import { megabytes, noteRss, overMemory } from "./memory-limit.ts";
import type { ListenerBacklog, PoolView } from "./metrics.ts";
import type { MetricsServer, MetricsSource } from "./metrics-server.ts";

/**
 * Modules an idle arbiter does not need, loaded on first use (each module costs resident memory):
 * systemd's protocol (only with `LISTEN_FDS` / `NOTIFY_SOCKET`), the pidfile, the reloader.
 */
const systemd = (): typeof import("../net/systemd.ts") => require("../net/systemd.ts");
const pidfiles = (): typeof import("./pidfile.ts") => require("./pidfile.ts");

const WORKER_ENTRY = new URL("../workers/worker-main.ts", import.meta.url).pathname;

/** Signals the arbiter handles (Gunicorn's list). */
const ARBITER_SIGNALS = ["SIGHUP", "SIGQUIT", "SIGINT", "SIGTERM", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;
type ArbiterSignal = (typeof ARBITER_SIGNALS)[number];
/** A function is a control command's continuation: run by the loop once the signals queued before it are handled. */
type QueueItem = ArbiterSignal | "RELOAD" | (() => void);

/** Stops the arbiter loop: `reason` is logged, `code` is the exit status. */
class HaltServer extends Error {
  constructor(
    readonly reason: string,
    readonly code = EXIT_CONFIG_ERROR,
  ) {
    super(reason);
  }
}

class WorkerHandle implements WorkerRecord {
  pid = 0;
  proc: Subprocess | null = null;
  booted = false;
  readonly spawnedAt = performance.now();
  lastBeat = performance.now();
  abortedAt: number | null = null;
  /** When set, the worker was asked to stop and is SIGKILLed at this time. */
  killAt: number | null = null;
  retiring = false;
  retiringSince = 0;
  exitCode: number | null = null;
  signalCode: string | null = null;
  requests = 0;
  inFlight = 0;
  rss = 0;
  /** Why it is retiring: `max_requests` or `memory` (src/arbiter/memory-limit.ts). */
  retireReason: string | null = null;
  /** Heartbeats in a row with RSS over `max_memory`. */
  memoryStrikes = 0;
  /** Its metrics counts as of its last heartbeat (`metrics_bind`). */
  counts: RequestCounts | null = null;
  /** The requests in flight at its last report, and when it came (stuck-worker forensics). */
  busy: BusyRequest[] | null = null;
  busyAt = 0;
  constructor(
    readonly age: number,
    readonly generation: number,
  ) {}
  get stopping(): boolean {
    return this.killAt !== null;
  }
}

export interface ArbiterOptions extends LoadConfigOptions {
  /** The config already loaded from these options. */
  loaded: LoadedConfig;
  /** The arbiter's logger (built by `createLogger`). */
  log: Logger;
  /** The control socket, already opened by `startArbiter` (`control_socket`). */
  control?: ControlSocket;
  /** The metrics and health address, already bound by `startArbiter` (`metrics_bind`). */
  metrics?: MetricsServer;
}

export class Arbiter implements ArbiterView, ControlTarget, MetricsSource {
  readonly pid = process.pid;
  cfg: Settings;
  log: Logger;
  readonly workers = new Map<number, WorkerHandle>();
  private loaded: LoadedConfig;
  private readonly loadOptions: LoadConfigOptions;
  private listeners: Listener[] = [];
  private queue: QueueItem[] = [];
  private wake: (() => void) | null = null;
  private exited: WorkerHandle[] = [];
  private booting = new Set<WorkerHandle>();
  private age = 0;
  private generation = 0;
  /** The worker count asked for (`workers`, changed by TTIN/TTOU), behind `numWorkers`. */
  private targetWorkers = 0;
  private bootFailures = 0;
  private nextSpawnAt = 0;
  private readyFired = false;
  private pidfile: Pidfile | null = null;
  private reexecChild: Subprocess | null = null;
  /** The old arbiter's pid when this one was started by USR2. */
  private readonly parentArbiter: number | null;
  private reaper: OrphanReaper | null = null;
  private stopWatching: (() => void) | null = null;
  private readonly procName: string;
  private captured: number | null = null;
  /** sd_notify to systemd (src/arbiter/service-notify.ts), when `NOTIFY_SOCKET` is set. */
  private readonly notifier: ServiceNotifier | null;
  /** `performance.now()` when this arbiter started (for `stats()`). */
  private readonly startedAt = performance.now();
  /** The control socket: null until `control_socket` is set (at start, or by a HUP). */
  private control: ControlSocket | null;
  /** Set once the loop begins stopping: control commands other than a quick stop are refused. */
  private shuttingDown = false;
  /** The metrics address: null until `metrics_bind` is set (at start, or by a HUP). */
  private metrics: MetricsServer | null;
  /** `drain_delay` after SIGTERM: still serving, not ready. */
  private draining = false;

  constructor(opts: ArbiterOptions) {
    this.loaded = opts.loaded;
    this.loadOptions = opts;
    this.cfg = opts.loaded.settings;
    this.log = opts.log;
    const env = opts.env ?? process.env;
    this.parentArbiter = env[PARENT_ARBITER_ENV] ? Number(env[PARENT_ARBITER_ENV]) : null;
    this.procName = this.cfg.proc_name ?? opts.loaded.app ?? this.cfg.default_proc_name;
    this.notifier = ServiceNotifier.fromEnv(env, this.pid, () => this.log);
    this.control = opts.control ?? null;
    this.metrics = opts.metrics ?? null;
  }

  get numWorkers(): number {
    return this.targetWorkers;
  }
  set numWorkers(value: number) {
    const old = this.targetWorkers;
    this.targetWorkers = value;
    void this.hook("nworkers_changed", this, value, this.readyFired || old !== 0 ? old : null);
  }

  /** The arbiter's summary and every worker's snapshot (src/arbiter/stats.ts), from its own table: no worker is asked. */
  stats(): { arbiter: ArbiterStats; workers: WorkerStats[] } {
    const now = performance.now();
    const src = { pid: this.pid, startedAt: this.startedAt, generation: this.generation, targetWorkers: this.targetWorkers, workers: this.workers.values() };
    return { arbiter: arbiterStats(src, now), workers: workersStats(this.workers.values(), now) };
  }

  // ---- the metrics address's view (src/arbiter/metrics-server.ts) -----------------------

  /** `/readyz`: at least `workers` workers booted and serving (any generation), not draining or stopping. */
  readiness(): { ready: boolean; reason: string } {
    if (this.shuttingDown) return { ready: false, reason: "stopping" };
    if (this.draining) return { ready: false, reason: "draining" };
    let serving = 0;
    for (const w of this.workers.values()) if (w.booted && !w.stopping) serving++;
    if (this.numWorkers === 0 || serving < this.numWorkers) return { ready: false, reason: `${serving} of ${this.numWorkers} workers serving` };
    return { ready: true, reason: "" };
  }

  /** `/metrics`: the worker table and the listeners' backlogs (Bun.serve's is fixed at 512). */
  poolView(): PoolView {
    const listeners: ListenerBacklog[] = this.listeners.map((l) => ({ address: l.display, mode: l.mode, backlog: l.mode === "reuse-port" ? 512 : this.cfg.backlog }));
    return { workers: this.workers.values(), targetWorkers: this.numWorkers, listeners };
  }

  // ---- the control socket's view (src/arbiter/control-commands.ts) ---------------------

  listenerInfo(): ListenerInfo[] {
    return this.listeners.map((l) => ({ address: l.display, mode: l.mode, fd: l.fd }));
  }

  isWorker(pid: number): boolean {
    return this.workers.has(pid);
  }

  /** Queues `signals` past the cap of 5 (each was asked for), then `then` once the loop has handled them. */
  command<T>(signals: readonly ControlSignal[], then: () => T): Promise<T> {
    if (this.shuttingDown && signals.some((s) => s !== "SIGQUIT")) return Promise.reject(new Error("the arbiter is shutting down"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push(...signals, () => {
        try {
          resolve(then());
        } catch (e) {
          reject(e);
        }
      });
      this.wakeup();
    });
  }

  /** `ctl worker kill PID`: a graceful stop of that worker; manageWorkers starts its replacement. */
  killWorker(pid: number): boolean {
    const w = this.workers.get(pid);
    if (w === undefined) return false;
    this.stopWorker(w, true);
    this.wakeup();
    return true;
  }

  /** Runs until stopped; resolves to the exit status. */
  async run(): Promise<number> {
    try {
      await this.start();
    } catch (e) {
      if (e instanceof ConfigError || e instanceof HaltServer) {
        this.log.error(e.message);
        closeListeners(this.listeners, true);
        this.pidfile?.unlink();
        this.control?.close();
        this.metrics?.close();
        return e instanceof HaltServer ? e.code : EXIT_CONFIG_ERROR;
      }
      throw e;
    }
    try {
      for (;;) {
        await this.sleep(1000);
        let item: QueueItem | undefined;
        while ((item = this.queue.shift()) !== undefined) await this.dispatch(item);
        this.reap();
        this.murderWorkers();
        this.manageWorkers();
      }
    } catch (e) {
      if (e instanceof StopLoop) {
        // drain_delay: keep serving, not ready, before the stop (INT/QUIT meanwhile: a quick stop).
        const graceful = e.graceful && (await this.drain());
        this.log.info("Shutting down: Master");
        this.notifier?.stopping();
        await this.stop(graceful);
        await this.hook("on_exit", this);
        this.cleanup();
        return 0;
      }
      if (e instanceof HaltServer) {
        this.log.info("Shutting down: Master");
        this.notifier?.stopping();
        this.log.info("Reason: %s", e.reason);
        await this.stop(true);
        await this.hook("on_exit", this);
        this.cleanup();
        return e.code;
      }
      this.log.error("Unhandled exception in main loop: %s", e instanceof Error ? (e.stack ?? e.message) : String(e));
      await this.stop(false);
      this.cleanup();
      return 1;
    }
  }

  private async start(): Promise<void> {
    // Gunicorn logs every setting at debug level before it starts.
    this.log.debug(currentConfiguration(this.cfg, this.loaded.app));
    this.log.info("Starting bunicorn %s", VERSION);
    setProcessComm("bunicorn master");
    for (const sig of ARBITER_SIGNALS) process.on(sig, () => this.signal(sig));
    process.on("SIGCHLD", () => this.wakeup());
    await this.hook("on_starting", this);

    const inherited = this.inheritedFds();
    this.listeners = await openListeners(this.cfg, inherited, this.parentArbiter === null);
    if (this.cfg.pidfile) {
      this.pidfile = new (pidfiles().Pidfile)(this.cfg.pidfile);
      this.pidfile.create(this.pid, this.parentArbiter);
    }
    for (const l of this.listeners) this.log.info("Listening at: %s (%s)", l.display, this.pid);
    const modes = new Set(this.listeners.map((l) => l.mode));
    this.log.info("Using worker: %s (%s mode)", workerClassName(this.cfg), [...modes].join(" + "));
    // limit_request_line / limit_request_fields above Gunicorn's maxima are clamped, as Gunicorn does.
    for (const w of clampedLimitWarnings(this.cfg)) this.log.warning(w);
    if (modes.has("reuse-port")) {
      const migrate = tcpMigrateReq();
      if (migrate === 0) {
        this.log.warning(
          "net.ipv4.tcp_migrate_req is 0: in reuse-port mode, connections queued on a stopping worker are reset during reload, scale-down and recycling. Set it to 1 (sysctl -w net.ipv4.tcp_migrate_req=1) or use --no-reuse-port.",
        );
      }
    }
    if (isPid1()) this.reaper = new OrphanReaper({ isKnown: (pid) => this.workers.has(pid) || pid === this.reexecChild?.pid });
    if (this.cfg.reload) this.startReloader();
    this.control?.serve(this, this.log);
    this.metrics?.attach(this, this.log);
    this.notifier?.start();
    this.numWorkers = this.cfg.workers;
    this.manageWorkers();
  }

  private inheritedFds(): number[] {
    const env = this.loadOptions.env ?? process.env;
    const inherited = env[INHERITED_FDS_ENV];
    if (inherited) {
      const fds = inherited.split(",").map(Number).filter((n) => Number.isInteger(n) && n >= 0);
      delete process.env[INHERITED_FDS_ENV];
      return fds;
    }
    return env[LISTEN_FDS_ENV] === undefined ? [] : systemd().listenFds(env);
  }

  // ---- the signal queue ------------------------------------------------------------------

  private signal(sig: ArbiterSignal): void {
    if (this.queue.length < 5 || sig === "SIGTERM" || sig === "SIGINT" || sig === "SIGQUIT") this.queue.push(sig);
    this.wakeup();
  }

  private wakeup(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.queue.length > 0 || this.exited.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async dispatch(item: QueueItem): Promise<void> {
    if (typeof item === "function") return item();
    if (item !== "RELOAD") this.log.info("Handling signal: %s", item.slice(3).toLowerCase());
    switch (item) {
      case "SIGTERM":
        this.notifier?.stopping();
        throw new StopLoop(true);
      case "SIGINT":
      case "SIGQUIT":
        this.notifier?.stopping();
        throw new StopLoop(false);
      case "SIGHUP":
        return this.reload(true);
      case "RELOAD":
        return this.reload(false);
      case "SIGTTIN":
        this.numWorkers = this.numWorkers + 1;
        return this.manageWorkers();
      case "SIGTTOU":
        if (this.numWorkers > 1) this.numWorkers = this.numWorkers - 1;
        return this.manageWorkers();
      case "SIGUSR1":
        this.log.reopen();
        if (this.captured !== null) {
          closeSync(this.captured);
          this.captured = null;
        }
        for (const w of this.workers.values()) this.send(w, { type: "reopen-logs" });
        return;
      case "SIGUSR2":
        return this.reexec();
      case "SIGWINCH":
        if (this.cfg.daemon) {
          this.log.info("graceful stop of workers");
          this.numWorkers = 0;
          for (const w of this.workers.values()) this.stopWorker(w, true);
        } else {
          this.log.debug("SIGWINCH ignored. Not daemonized");
        }
        return;
    }
  }

  // ---- workers ---------------------------------------------------------------------------

  private spawnWorker(): void {
    const w = new WorkerHandle(++this.age, this.generation);
    void this.hook("pre_fork", this, w);
    const { specs, fds } = workerListenerSpecs(this.listeners);
    const env: Record<string, string | undefined> = { ...process.env };
    delete env[PARENT_ARBITER_ENV];
    delete env[LISTEN_FDS_ENV];
    delete env[LISTEN_PID_ENV];
    const out = this.captureFd();
    // The arbiter's batched lines first, so they come before anything the worker logs.
    this.log.flush();
    let proc: Subprocess;
    try {
      proc = Bun.spawn([process.execPath, WORKER_ENTRY], {
        argv0: `bunicorn: worker [${this.procName}]`,
        stdio: ["ignore", out ?? "inherit", out ?? "inherit", ...fds],
        env,
        serialization: "json",
        ipc: (msg: WorkerMessage) => this.onMessage(w, msg),
        onExit: (_p, exitCode, signalCode) => {
          w.exitCode = exitCode;
          w.signalCode = signalCode === null ? null : typeof signalCode === "number" ? String(signalCode) : signalCode;
          this.exited.push(w);
          this.wakeup();
        },
      });
    } catch (e) {
      this.log.error("Failed to spawn a worker: %s", firstLine(e));
      this.bootFailures++;
      return;
    }
    w.pid = proc.pid;
    w.proc = proc;
    this.workers.set(proc.pid, w);
    this.booting.add(w);
    this.log.info("Booting worker with pid: %s", proc.pid);
    this.log.flush();
    const settings: Record<string, unknown> = {};
    const functions: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(this.cfg)) {
      if (typeof v !== "function") settings[k] = v;
      else {
        settings[k] = this.loaded.functionDefaults[k] ?? null;
        functions[k] = this.loaded.hookRefs[k] ?? null;
      }
    }
    this.send(w, {
      type: "init",
      settings: settings as Settings,
      functions,
      configFile: this.loaded.configFile,
      app: this.loaded.app!,
      age: w.age,
      arbiterPid: this.pid,
      listeners: specs,
    });
  }

  /**
   * `capture_output`: workers get the error log file as their stdout and stderr (what Gunicorn's
   * dup2 does), so anything the app prints lands in the error log. Reopened on USR1 for the
   * workers spawned after it; running workers re-point their own fds (`recaptureOutput`).
   */
  private captureFd(): number | null {
    const target = captureOutputPath(this.cfg);
    if (target === null) return null;
    if (this.captured === null) {
      try {
        this.captured = openSync(target, "a");
      } catch (e) {
        this.log.error("capture_output: cannot open %s: %s", target, firstLine(e));
        return null;
      }
    }
    return this.captured;
  }

  private onMessage(w: WorkerHandle, msg: WorkerMessage): void {
    w.lastBeat = performance.now();
    switch (msg.type) {
      case "booted":
        w.booted = true;
        this.booting.delete(w);
        this.log.debug("Worker (pid:%s) booted", w.pid);
        this.bootFailures = 0;
        this.wakeup();
        break;
      case "heartbeat":
        w.requests = msg.requests;
        w.inFlight = msg.inFlight;
        w.rss = msg.rss;
        if (msg.counts !== undefined) w.counts = msg.counts;
        w.busy = msg.busy ?? null;
        w.busyAt = w.lastBeat;
        // max_memory: a strike per heartbeat over the limit; manageWorkers recycles (memory-limit.ts).
        if (this.cfg.max_memory > 0) {
          noteRss(w, msg.rss, this.cfg.max_memory);
          if (w.memoryStrikes > 1) this.wakeup();
        }
        break;
      case "busy":
        // The requests in flight, reported before one runs (src/workers/request-watch.ts).
        w.busy = msg.busy.length > 0 ? msg.busy : null;
        w.busyAt = w.lastBeat;
        break;
      case "retiring":
        // max_requests: count it out now so a replacement starts at once; it keeps serving
        // until the replacement is ready (manageWorkers then stops it).
        w.retiring = true;
        w.retiringSince = performance.now();
        w.retireReason ??= msg.reason;
        this.wakeup();
        break;
      case "abort":
        // Killed like a timed-out worker (its worker_abort hook has run): SIGKILL, replaced.
        if (w.abortedAt === null && !w.stopping) {
          this.log.critical("WORKER TIMEOUT (pid:%s): %s", w.pid, msg.reason);
          w.abortedAt = performance.now();
          this.kill(w, "SIGKILL");
        }
        break;
    }
  }

  private send(w: WorkerHandle, msg: ArbiterMessage): void {
    try {
      w.proc?.send(msg);
    } catch {}
  }

  private kill(w: WorkerHandle, sig: NodeJS.Signals): void {
    // The arbiter's batched lines first, so they come before what the signal makes the worker log.
    this.log.flush();
    try {
      w.proc?.kill(sig);
    } catch {}
  }

  /** Asks a worker to stop: graceful (finish in-flight requests) or quick. */
  private stopWorker(w: WorkerHandle, graceful: boolean): void {
    if (w.stopping && graceful) return;
    w.killAt = performance.now() + (graceful ? this.cfg.graceful_timeout * 1000 : 1000);
    this.kill(w, graceful ? "SIGTERM" : "SIGQUIT");
  }

  /** Handles the workers that exited since the last pass (Gunicorn's `reap_workers`). */
  private reap(): void {
    if (this.reaper) {
      try {
        this.reaper.reap();
      } catch {}
    }
    const exited = this.exited;
    this.exited = [];
    for (const w of exited) {
      this.workers.delete(w.pid);
      this.booting.delete(w);
      const code = w.exitCode;
      const sig = w.signalCode;
      if (sig) {
        const msg = sig === "SIGKILL" && !w.stopping && w.abortedAt === null ? " Perhaps out of memory?" : "";
        if (w.stopping && (sig === "SIGTERM" || sig === "SIGQUIT")) this.log.info("Worker (pid:%s) was sent %s!", w.pid, sig);
        else this.log.error("Worker (pid:%s) was sent %s!%s", w.pid, sig, msg);
      } else if (code !== 0 && code !== null) {
        this.log.error("Worker (pid:%s) exited with code %s", w.pid, code);
      } else {
        this.log.info("Worker (pid:%s) exited with code %s", w.pid, code ?? 0);
      }
      void this.hook("child_exit", this, w);
      // Its last counts stay in the totals; its restart is counted by reason (src/arbiter/metrics.ts).
      this.metrics?.pool.workerExited(w);
      if (!w.booted && !w.stopping) this.onBootFailure(w);
    }
  }

  private onBootFailure(w: WorkerHandle): void {
    this.bootFailures++;
    const anyBooted = [...this.workers.values()].some((x) => x.booted && !x.stopping);
    const stillBooting = [...this.booting].some((x) => x.generation === this.generation);
    if (!anyBooted && !stillBooting && !this.readyFired) {
      if (w.exitCode === APP_LOAD_ERROR) throw new HaltServer("App failed to load.", APP_LOAD_ERROR);
      throw new HaltServer("Worker failed to boot.", WORKER_BOOT_ERROR);
    }
    // Back off instead of crash-looping: 0.5 s, 1 s, 2 s ... up to 30 s between attempts.
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.bootFailures - 1, 6));
    this.nextSpawnAt = performance.now() + delay;
    this.log.error("Worker (pid:%s) failed to boot; next attempt in %ss", w.pid, (delay / 1000).toFixed(1));
    this.notifier?.bootFailed([...this.workers.values()].filter((x) => x.booted && !x.stopping).length);
  }

  /** Kills hung workers (no heartbeat within `timeout`), workers that never boot, and those past their stop deadline. */
  private murderWorkers(): void {
    const now = performance.now();
    const timeout = this.cfg.timeout * 1000;
    const bootTimeout = this.cfg.boot_timeout * 1000;
    for (const w of this.workers.values()) {
      if (w.killAt !== null && now >= w.killAt) {
        this.kill(w, "SIGKILL");
        continue;
      }
      if (!w.booted) {
        if (bootTimeout > 0 && now - w.spawnedAt > bootTimeout && w.killAt === null) {
          this.log.critical("WORKER BOOT TIMEOUT (pid:%s): not ready after %ss", w.pid, this.cfg.boot_timeout);
          this.kill(w, "SIGKILL");
          w.abortedAt = now;
        }
        continue;
      }
      if (timeout <= 0 || w.stopping) continue;
      if (now - w.lastBeat <= timeout) continue;
      if (w.abortedAt === null) {
        this.log.critical("WORKER TIMEOUT (pid:%s)", w.pid);
        // Stuck-worker forensics: what it was handling at its last report (src/workers/request-watch.ts).
        const busy = formatBusy(w.busy, now - w.busyAt);
        if (busy !== null) this.log.error("Worker (pid:%s) was handling: %s", w.pid, busy);
        w.abortedAt = now;
        this.kill(w, "SIGABRT");
      } else if (now - w.abortedAt >= 1000) {
        this.kill(w, "SIGKILL");
      }
    }
  }

  /** Tops the pool up to `numWorkers`, retires extras, and retires an old generation once the new one is ready. */
  private manageWorkers(): void {
    if (this.cfg.max_memory > 0) this.recycleOverMemory();
    const all = [...this.workers.values()];
    const current = all.filter((w) => w.generation === this.generation && !w.stopping && !w.retiring);
    const old = all.filter((w) => w.generation !== this.generation && !w.stopping && !w.retiring);
    const missing = this.numWorkers - current.length;
    if (missing > 0 && performance.now() >= this.nextSpawnAt) {
      const batch = this.bootFailures > 0 ? 1 : missing;
      for (let i = 0; i < batch; i++) this.spawnWorker();
    } else if (missing < 0) {
      // Retire the oldest first (Gunicorn kills the oldest extras).
      current.sort((a, b) => a.age - b.age);
      for (const w of current.slice(0, -missing)) this.stopWorker(w, true);
    }
    this.log.gauge("bunicorn.workers", this.workers.size);
    const ready = current.filter((w) => w.booted).length;
    // Recycled workers (max_requests) stop once enough replacements are ready, or after
    // boot_timeout if a replacement cannot start.
    const retiring = all.filter((w) => w.retiring && !w.stopping).sort((a, b) => a.retiringSince - b.retiringSince);
    const bootLimit = this.cfg.boot_timeout > 0 ? this.cfg.boot_timeout * 1000 : 60_000;
    let spare = ready - (this.numWorkers - retiring.length);
    for (const w of retiring) {
      if (spare > 0 || performance.now() - w.retiringSince > bootLimit) {
        spare--;
        this.stopWorker(w, true);
      }
    }
    if (old.length > 0 && ready >= Math.min(this.numWorkers, current.length) && ready > 0) {
      for (const w of old) this.stopWorker(w, true);
    }
    if (!this.readyFired && ready >= this.numWorkers && this.numWorkers > 0) {
      this.readyFired = true;
      void this.hook("when_ready", this);
    }
    // READY=1 once a boot or a reload is complete, STATUS= when the counts change.
    if (this.notifier) {
      const live = [...this.workers.values()].filter((w) => !w.stopping);
      const serving = live.filter((w) => w.booted).length;
      this.notifier.workers({ ready, target: this.numWorkers, serving, booting: live.length - serving });
    }
  }

  /** max_memory: the worker over the limit on two heartbeats in a row is recycled, one at a time (src/arbiter/memory-limit.ts). */
  private recycleOverMemory(): void {
    const w = overMemory(this.workers.values(), this.cfg.max_memory);
    if (w === null) return;
    this.log.warning("Worker (pid:%s) RSS %s over max_memory %s: recycling", w.pid, megabytes(w.rss), megabytes(this.cfg.max_memory));
    // As max_requests does: a replacement starts at once, this one stops once it is ready.
    w.retiring = true;
    w.retiringSince = performance.now();
    w.retireReason = "memory";
  }

  // ---- reload, re-exec, stop ---------------------------------------------------------------

  /** HUP: re-read the config, start a new generation; the old one retires once the new one is ready. */
  private async reload(rereadConfig: boolean): Promise<void> {
    this.notifier?.reloading();
    if (rereadConfig) {
      this.log.info("Hang up: Master");
      try {
        // Loaded here, not at start: the re-executed arbiter gets its config from the launcher
        // and never needs the registry and the parsers otherwise (~4 MB RSS).
        const { loadConfig } = await import("../config/load.ts");
        const loaded = await loadConfig(this.loadOptions);
        if (loaded.app) this.loaded = loaded;
        const oldBind = JSON.stringify(this.cfg.bind);
        const log = await createLogger(loaded.settings, "arbiter", loaded.settings.chdir);
        this.cfg = loaded.settings;
        this.log.close();
        this.log = log;
        this.control?.setLog(log);
        this.metrics?.setLog(log);
        if (JSON.stringify(this.cfg.bind) !== oldBind) await this.rebind();
        if (this.control === null && this.cfg.control_socket) {
          // Set by this HUP: the module is loaded only now.
          const { ControlSocket } = await import("./control-socket.ts");
          this.control = new ControlSocket();
          this.control.serve(this, this.log);
        }
        await this.control?.reconfigure(this.cfg);
        await this.reconfigureMetrics();
      } catch (e) {
        this.log.error("Reload: the config could not be read, keeping the current one: %s", firstLine(e));
      }
      await this.hook("on_reload", this);
      if (this.numWorkers !== this.cfg.workers) this.numWorkers = this.cfg.workers;
    }
    this.generation++;
    this.bootFailures = 0;
    this.nextSpawnAt = 0;
    this.manageWorkers();
  }

  /**
   * HUP with a changed `bind`: keep the listeners whose address is unchanged, open the new ones,
   * close the dropped ones. The new generation gets the new set; old workers keep their own
   * copies of the old sockets until they retire.
   */
  private async rebind(): Promise<void> {
    const keep: Listener[] = [];
    const opened: Listener[] = [];
    try {
      for (const spec of this.cfg.bind) {
        const [fresh] = await openListeners({ ...this.cfg, bind: [spec] }, [], false, this.listeners);
        if (fresh === undefined) continue;
        (this.listeners.includes(fresh) ? keep : opened).push(fresh);
      }
    } catch (e) {
      closeListeners(opened, true);
      this.log.error("Reload: cannot bind the new addresses, keeping the old ones: %s", firstLine(e));
      return;
    }
    const dropped = this.listeners.filter((l) => !keep.includes(l));
    closeListeners(dropped, true);
    this.listeners = [...keep, ...opened];
    for (const l of opened) this.log.info("Listening at: %s (%s)", l.display, this.pid);
    for (const l of dropped) this.log.info("Stopped listening at: %s", l.display);
  }

  /** USR2: start a new arbiter from the same command line; it inherits the shared sockets. */
  private async reexec(): Promise<void> {
    if (this.reexecChild && this.reexecChild.exitCode === null && this.reexecChild.signalCode === null) {
      this.log.warning("USR2 signal ignored. Child exists.");
      return;
    }
    if (this.parentArbiter !== null && pidfiles().processAlive(this.parentArbiter)) {
      this.log.warning("USR2 signal ignored. Parent exists.");
      return;
    }
    await this.hook("pre_exec", this);
    const shared = this.listeners.filter((l) => l.fd !== null);
    const env: Record<string, string | undefined> = { ...process.env, [PARENT_ARBITER_ENV]: String(this.pid) };
    delete env[INHERITED_FDS_ENV];
    delete env[TITLED_ENV];
    if (shared.length > 0) env[INHERITED_FDS_ENV] = shared.map((_, i) => String(3 + i)).join(",");
    if (this.pidfile) this.pidfile.rename(`${this.pidfile.path}.oldbin`);
    try {
      const child = Bun.spawn([process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
        cwd: process.cwd(),
        env,
        stdio: ["inherit", "inherit", "inherit", ...shared.map((l) => l.fd!)],
        onExit: () => {
          // Rolled back (the new arbiter died): the pidfile is ours again.
          if (this.pidfile?.path.endsWith(".oldbin")) this.pidfile.rename(this.pidfile.path.slice(0, -".oldbin".length));
          this.reexecChild = null;
        },
      });
      child.unref();
      this.reexecChild = child;
      this.log.info("Started new arbiter with pid: %s", child.pid);
    } catch (e) {
      this.log.error("USR2: could not start a new arbiter: %s", firstLine(e));
      if (this.pidfile?.path.endsWith(".oldbin")) this.pidfile.rename(this.pidfile.path.slice(0, -".oldbin".length));
    }
  }

  /**
   * HUP: a changed `metrics_bind` moves the metrics address (the totals are kept); unset, it
   * closes. An address that cannot be had is logged, and the old one is kept.
   */
  private async reconfigureMetrics(): Promise<void> {
    const spec = this.cfg.metrics_bind;
    const old = this.metrics;
    if (spec === (old?.spec ?? null)) return;
    await old?.close();
    if (spec === null) {
      this.metrics = null;
      this.log.info("Metrics address closed");
      return;
    }
    const { MetricsServer } = await import("./metrics-server.ts");
    for (const next of [new MetricsServer(spec, old?.pool), ...(old ? [new MetricsServer(old.spec, old.pool)] : [])]) {
      try {
        await next.open(null);
      } catch (e) {
        this.log.error("Reload: %s", firstLine(e));
        continue;
      }
      this.metrics = next;
      next.attach(this, this.log);
      return;
    }
    this.metrics = null;
  }

  /** Stops every worker (graceful or quick), waiting at most `graceful_timeout`, then SIGKILL. */
  private async stop(graceful: boolean): Promise<void> {
    this.stopWatching?.();
    this.shuttingDown = true;
    const unlink = this.reexecChild === null && this.parentArbiter === null;
    closeListeners(this.listeners, unlink);
    this.listeners = [];
    // Nothing takes over (no USR2 arbiter alongside, no drain_delay for a load balancer): idle
    // keep-alive connections are closed at once, not kept for their next request (src/workers/stop-hint.ts).
    const handOver = this.cfg.drain_delay > 0 || (this.reexecChild !== null && this.reexecChild.exitCode === null) || (this.parentArbiter !== null && pidfiles().processAlive(this.parentArbiter));
    for (const w of this.workers.values()) {
      w.killAt = null;
      if (graceful && !handOver) this.send(w, { type: "close-idle" });
      this.stopWorker(w, graceful);
    }
    const deadline = performance.now() + (graceful ? this.cfg.graceful_timeout * 1000 : 2000);
    while (this.workers.size > 0 && performance.now() < deadline) {
      await this.sleep(100);
      this.drainExited();
      const item = this.queue.shift();
      if (typeof item === "function") item(); // a control command's reply
      if (graceful && (item === "SIGINT" || item === "SIGQUIT")) {
        // A quick stop during a graceful one escalates.
        for (const w of this.workers.values()) this.kill(w, "SIGQUIT");
        graceful = false;
      }
    }
    for (const w of this.workers.values()) this.kill(w, "SIGKILL");
    const end = performance.now() + 1000;
    while (this.workers.size > 0 && performance.now() < end) {
      await this.sleep(50);
      this.drainExited();
    }
  }

  private drainExited(): void {
    const exited = this.exited;
    this.exited = [];
    for (const w of exited) {
      this.workers.delete(w.pid);
      void this.hook("child_exit", this, w);
      this.metrics?.pool.workerExited(w, false);
    }
  }

  /**
   * `drain_delay` after SIGTERM: `/readyz` turns 503 at once and every worker keeps serving for
   * that many seconds, so a load balancer stops sending traffic, then the graceful stop begins.
   * The loop keeps running meanwhile (a crashed worker is replaced); INT or QUIT ends the delay
   * with a quick stop (returns false), another TERM is ignored.
   */
  private async drain(): Promise<boolean> {
    const delay = this.cfg.drain_delay;
    if (delay <= 0) return true;
    this.draining = true;
    this.log.info("Draining for %ss before stopping (readiness: 503)", delay);
    const end = performance.now() + delay * 1000;
    try {
      for (;;) {
        const left = end - performance.now();
        if (left <= 0) return true;
        await this.sleep(Math.min(1000, left));
        let item: QueueItem | undefined;
        while ((item = this.queue.shift()) !== undefined) {
          if (item === "SIGTERM") this.log.info("Handling signal: term (already draining)");
          else await this.dispatch(item);
        }
        this.reap();
        this.murderWorkers();
        this.manageWorkers();
      }
    } catch (e) {
      if (e instanceof StopLoop) return e.graceful;
      if (e instanceof HaltServer) return true;
      throw e;
    }
  }

  private cleanup(): void {
    this.notifier?.close();
    this.pidfile?.unlink();
    this.control?.close();
    this.metrics?.close();
    this.log.close();
  }

  private startReloader(): void {
    const { watchForReload } = require("./reloader.ts") as typeof import("./reloader.ts");
    this.stopWatching = watchForReload(this.cfg, (file) => {
      this.log.info("Worker reloading: %s modified", file);
      if (!this.queue.includes("RELOAD")) this.queue.push("RELOAD");
      this.wakeup();
    }, (msg) => this.log.warning(msg));
  }

  private hook(name: keyof Settings, ...args: unknown[]): Promise<void> {
    return callHook(this.cfg, this.log, name, ...args);
  }
}

class StopLoop extends Error {
  constructor(readonly graceful: boolean) {
    super("stop");
  }
}

