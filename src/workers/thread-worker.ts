/**
 * @module
 * The `gthread` worker class: one worker process running `threads` Bun `Worker` threads, each
 * with its own event loop, its own copy of the app and its own listener (see `thread-main.ts`).
 * Unlike Python threads, these run JavaScript in parallel.
 *
 * The process's main thread serves nothing. It starts the threads, sums their counters into
 * `requests`/`inFlight` (which the runner's heartbeat to the arbiter reports, and which drive
 * `max_requests`), and watches them:
 *
 * - a thread reports a heartbeat from its own event loop every `beatMs` (≤ 500 ms); a thread
 *   silent for `timeout` seconds has a stuck loop: `THREAD TIMEOUT` is logged, the
 *   `worker_abort` hook runs (on the main thread, with this worker: a stuck thread cannot run
 *   anything), then:
 *   - shared-socket mode: the thread is `terminate()`d (its connections close) and a new one
 *     takes its slot; the process (and its pid) stays. The arbiter's own timeout only sees the
 *     main thread, which is not stuck;
 *   - reuse-port mode: the arbiter kills the whole worker process, as Gunicorn's timeout does,
 *     and starts a new one. Terminating just the thread is not possible there: Bun 1.4.4's
 *     `Bun.serve` then answers the thread's in-flight requests itself with an empty
 *     `204 No Content`, so the client of the stuck request would see a success. A killed
 *     process answers nothing (the client sees the connection reset), and requests in flight on
 *     the worker's other threads are cut with it, as with any timed-out Gunicorn worker;
 * - a thread that dies for any other reason is replaced too (with a back-off if its
 *   replacement cannot start).
 *
 * Limits of the class:
 * - `pre_request`/`post_request` run in the threads, with the thread's worker object: functions
 *   cannot be sent to a thread, so each thread imports them again from their `PATH#EXPORT`
 *   reference or the config file, as a worker process does.
 * - The runner has already imported the app on the main thread before this class exists, so
 *   the app module is evaluated `threads + 1` times per worker process.
 * - In reuse-port mode the kernel keeps hashing new connections to a stuck thread's socket
 *   until it is terminated, and connections queued there are reset then (unless
 *   `net.ipv4.tcp_migrate_req=1`), exactly as with a stuck `sync` worker process.
 */
import { AppLoadError } from "../errors.ts";
import { callHook } from "../config/call-hook.ts";
import { Worker, type WorkerOptions } from "./base.ts";
import { addCounts, emptyCounts, formatBusy, oldestBusy, type BusyRequest, type RequestCounts, type RequestReport } from "./request-report.ts";
import type { FromThread, ThreadInit, ToThread } from "./thread-protocol.ts";
import { onCloseIdle } from "./stop-hint.ts";
import { resolveTlsOptions, type TlsOptions } from "./tls-options.ts";

type Thread = InstanceType<typeof globalThis.Worker>;

interface Slot {
  index: number;
  thread: Thread;
  state: "booting" | "ready" | "stopping" | "gone";
  startedAt: number;
  lastBeat: number;
  requests: number;
  inFlight: number;
  threadId: number;
  /** The requests in flight at the thread's last report, and when it came (stuck-thread forensics). */
  busy: BusyRequest[] | null;
  busyAt: number;
  /** The thread's metrics counts at its last beat (`metrics_bind`). */
  counts: RequestCounts | null;
  /** Settles when the thread is ready (resolve) or fails/ends before that (reject). */
  booted: Promise<void>;
  /** Resolves once the thread has ended. */
  closed: Promise<void>;
}

const THREAD_URL = new URL("./thread-main.ts", import.meta.url).href;
const WATCH_MS = 100;
/** The longest `worker_abort` may delay the termination of a stuck thread. */
const ABORT_HOOK_MS = 1000;
/** A non-graceful stop gives threads this long before they are terminated. */
const QUICK_STOP_MS = 1000;

export class ThreadWorker extends Worker {
  private slots: (Slot | null)[] = [];
  /** Requests served by threads that are gone. */
  private retired = 0;
  /** Metrics counts of threads that are gone (null without `metrics_bind`). */
  private readonly retiredCounts: RequestCounts | null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly backoff = new Map<number, number>();
  private readonly notify: (served: number) => void;
  private readonly beatMs: number;
  private settings: Record<string, unknown> | null = null;
  /** Bun's TLS options for every thread, resolved once here (the `ssl_context` hook runs on this thread). */
  private tls: TlsOptions | null = null;

  constructor(opts: WorkerOptions) {
    super(opts);
    this.notify = opts.onRequestDone;
    this.retiredCounts = opts.cfg.metrics_bind !== null ? emptyCounts() : null;
    this.beatMs = Math.max(50, Math.min(500, (opts.cfg.timeout * 1000) / 4 || 500));
  }

  override async serve(): Promise<void> {
    const cfg = this.cfg;
    this.settings = threadSettings(cfg);
    this.tls = await resolveTlsOptions(cfg);
    const n = Math.max(1, cfg.threads);
    const slots = Array.from({ length: n }, (_, i) => this.spawn(i));
    const results = await Promise.allSettled(slots.map((s) => s.booted));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
    if (failed.length > 0) {
      this.alive = false;
      for (const s of slots) s.thread.terminate();
      throw failed.find((e) => e instanceof AppLoadError) ?? failed[0];
    }
    this.log.debug("Serving with %s threads (%s)", n, slots.map((s) => s.threadId).join(", "));
    this.watchdog = setInterval(() => this.watch(), WATCH_MS);
  }

  override async stop(graceful: boolean): Promise<void> {
    this.alive = false;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    const limit = graceful ? Math.max(1, this.cfg.graceful_timeout) * 1000 : QUICK_STOP_MS;
    const live = this.slots.filter((s): s is Slot => s !== null && s.state !== "gone");
    // The arbiter's close-idle (stop-hint.ts), before or after this stop: the threads' drains end.
    if (graceful) onCloseIdle(() => live.forEach((s) => s.state !== "gone" && post(s.thread, { type: "close-idle" })));
    await Promise.all(
      live.map(async (s) => {
        if (s.state === "booting") {
          s.thread.terminate();
          return;
        }
        s.state = "stopping";
        post(s.thread, { type: "stop", graceful });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), limit)));
        const timedOut = await Promise.race([s.closed.then(() => false), late]);
        clearTimeout(timer);
        if (timedOut) {
          this.log.warning("Thread %s did not stop within %s ms; terminating it", s.threadId, limit);
          s.thread.terminate();
        }
      }),
    );
  }

  /** Starts a thread in slot `index`. */
  private spawn(index: number): Slot {
    const thread = new globalThis.Worker(THREAD_URL);
    let ready!: () => void;
    let fail!: (e: unknown) => void;
    let closed!: () => void;
    const now = performance.now();
    const slot: Slot = {
      index,
      thread,
      state: "booting",
      startedAt: now,
      lastBeat: now,
      requests: 0,
      inFlight: 0,
      threadId: 0,
      busy: null,
      busyAt: now,
      counts: null,
      booted: new Promise<void>((res, rej) => {
        ready = res;
        fail = rej;
      }),
      closed: new Promise<void>((res) => (closed = res)),
    };
    // A rejection nobody awaits (a replacement's boot) must not be "unhandled".
    slot.booted.catch(() => {});
    this.slots[index] = slot;

    thread.addEventListener("message", (ev: MessageEvent) => {
      const m = ev.data as FromThread;
      switch (m.type) {
        case "beat":
          slot.lastBeat = performance.now();
          this.noteRequests(slot, m.busy ?? null, m.counts);
          this.count(slot, m.requests, m.inFlight);
          break;
        case "busy":
          slot.lastBeat = performance.now();
          this.noteRequests(slot, m.busy.length > 0 ? m.busy : null, undefined);
          break;
        case "ready":
          if (slot.state !== "booting") break;
          slot.state = "ready";
          slot.threadId = m.threadId;
          slot.lastBeat = performance.now();
          this.backoff.delete(index);
          this.log.debug("Thread %s (slot %s) ready", m.threadId, index);
          ready();
          break;
        case "failed":
          if (slot.state === "booting") {
            fail(m.appLoad ? new AppLoadError(m.message) : new Error(`Thread failed to start serving: ${m.message}`));
            this.retire(slot, m.message);
          }
          break;
        case "stopped":
          this.noteRequests(slot, null, m.counts);
          this.count(slot, m.requests, 0);
          break;
        case "log":
          this.log[m.level](m.msg, ...m.args);
          break;
      }
    });
    thread.addEventListener("error", (ev: Event) => {
      const e = ev as ErrorEvent;
      const text = e.error instanceof Error ? (e.error.stack ?? e.error.message) : e.message;
      this.log.error("Exception in thread %s: %s", slot.threadId || `slot ${index}`, text);
    });
    thread.addEventListener("close", (ev: Event) => {
      const code = (ev as Event & { code?: number }).code ?? 0;
      closed();
      if (slot.state === "booting") fail(new Error(`Thread exited (code ${code}) before serving`));
      if (slot.state === "gone") return;
      const unexpected = slot.state === "ready";
      if (unexpected) this.log.error("Thread %s exited (code %s)", slot.threadId, code);
      this.retire(slot, `exit code ${code}`);
    });
    const init: ThreadInit = {
      type: "init",
      index,
      app: this.appSpec,
      cwd: process.cwd(),
      settings: this.settings ?? threadSettings(this.cfg),
      hooks: requestHookRefs(this.functionRefs.functions),
      configFile: this.functionRefs.configFile,
      listeners: [...this.listeners],
      tls: this.tls,
      age: this.age,
      arbiterPid: this.arbiter.pid,
      beatMs: this.beatMs,
      eager: this.cfg.max_requests > 0,
    };
    post(thread, init);
    return slot;
  }

  /** USR1: the threads reopen their access logs too. */
  override reopenLogs(): void {
    for (const s of this.slots) if (s !== null && s.state !== "gone") post(s.thread, { type: "reopen-logs" });
  }

  /** A thread's report: its requests in flight and its metrics counts. */
  private noteRequests(slot: Slot, busy: BusyRequest[] | null, counts: RequestCounts | undefined): void {
    slot.busy = busy;
    slot.busyAt = performance.now();
    if (counts !== undefined) slot.counts = counts;
  }

  /** The threads' reports together: their oldest requests in flight, and the sum of their counts (those of gone threads included). */
  override requestReport(): RequestReport {
    const now = performance.now();
    const lists: BusyRequest[][] = [];
    const counts = this.retiredCounts === null ? null : addCounts(emptyCounts(), this.retiredCounts);
    for (const s of this.slots) {
      if (!s || s.state === "gone") continue;
      if (s.busy !== null) lists.push(s.busy.map((b) => ({ ...b, ageMs: b.ageMs + Math.round(now - s.busyAt) })));
      if (counts !== null && s.counts !== null) addCounts(counts, s.counts);
    }
    const out: RequestReport = {};
    const busy = oldestBusy(lists);
    if (busy !== undefined) out.busy = busy;
    if (counts !== null) out.counts = counts;
    return out;
  }

  /** Adds a thread's counters into the worker's totals; calls the runner when requests grew. */
  private count(slot: Slot, requests: number, inFlight: number): void {
    slot.requests = Math.max(slot.requests, requests);
    slot.inFlight = inFlight;
    this.refresh();
  }

  private refresh(): void {
    let requests = this.retired;
    let inFlight = 0;
    for (const s of this.slots) {
      if (!s || s.state === "gone") continue;
      requests += s.requests;
      inFlight += s.inFlight;
    }
    this.inFlight = inFlight;
    if (requests > this.requests) {
      this.requests = requests;
      this.notify(requests);
    }
  }

  /** Marks a slot's thread as gone and, while the worker is alive, starts its replacement. */
  private retire(slot: Slot, why: string): void {
    if (slot.state === "gone") return;
    const wasBooting = slot.state === "booting";
    slot.state = "gone";
    this.retired += slot.requests;
    slot.requests = 0;
    if (this.retiredCounts !== null && slot.counts !== null) addCounts(this.retiredCounts, slot.counts);
    slot.counts = null;
    slot.busy = null;
    slot.inFlight = 0;
    this.refresh();
    if (this.slots[slot.index] === slot) this.slots[slot.index] = null;
    if (!this.alive || this.watchdog === null) return;
    // A thread that could not even start is retried with a back-off (0.5 s doubling to 30 s).
    const delay = wasBooting ? (this.backoff.get(slot.index) ?? 500) : 0;
    if (wasBooting) {
      this.backoff.set(slot.index, Math.min(30_000, delay * 2));
      this.log.error("Thread in slot %s failed to start (%s); retrying in %s ms", slot.index, why, delay);
    }
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      if (this.alive && this.slots[slot.index] === null) this.spawn(slot.index);
    }, delay);
    this.retryTimers.add(t);
  }

  /** The watchdog: stuck threads (no heartbeat for `timeout`) and replacements that never boot. */
  private watch(): void {
    if (!this.alive) return;
    const now = performance.now();
    const timeoutMs = this.cfg.timeout * 1000;
    const bootMs = this.cfg.boot_timeout * 1000;
    for (const s of this.slots) {
      if (!s) continue;
      if (s.state === "ready" && timeoutMs > 0 && now - s.lastBeat > timeoutMs) void this.abort(s);
      else if (s.state === "booting" && bootMs > 0 && now - s.startedAt > bootMs) {
        this.log.error("Thread in slot %s did not start within %s s; terminating it", s.index, this.cfg.boot_timeout);
        s.thread.terminate();
        this.retire(s, "boot timeout");
      }
    }
  }

  private async abort(slot: Slot): Promise<void> {
    slot.state = "stopping";
    this.log.critical("THREAD TIMEOUT (pid:%s thread:%s)", this.pid, slot.threadId);
    // Stuck-thread forensics: what it was handling at its last report (src/workers/request-watch.ts).
    const busy = formatBusy(slot.busy, performance.now() - slot.busyAt);
    if (busy !== null) this.log.error("Thread %s was handling: %s", slot.threadId, busy);
    // worker_abort runs here, on the main thread, before terminate(): the stuck thread cannot
    // run any JavaScript (and hooks, being functions, never reach threads anyway). It gets at
    // most ABORT_HOOK_MS so a slow hook cannot keep a stuck thread alive.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([callHook(this.cfg, this.log, "worker_abort", this), new Promise<void>((r) => (timer = setTimeout(r, ABORT_HOOK_MS)))]);
    clearTimeout(timer);
    if (this.listeners.some((l) => l.mode === "reuse-port")) {
      // Not terminate(): Bun.serve would answer the stuck request with an empty 204 (see above).
      this.log.flush?.(); // the lines above, before the SIGKILL (a plugin logger may lack it)
      try {
        process.send?.({ type: "abort", reason: `thread ${slot.threadId} stuck` });
      } catch {}
      // Should the arbiter not act (it is gone, or its IPC is), the process goes anyway.
      setTimeout(() => process.kill(process.pid, "SIGKILL"), 2000).unref();
      return;
    }
    slot.thread.terminate();
    // Replace at once: the close event of a terminated thread is not waited for.
    slot.state = "ready";
    this.retire(slot, "timeout");
  }
}

function post(thread: Thread, m: ToThread): void {
  thread.postMessage(m);
}

/**
 * The functions threads import again, out of the process's function settings: the request hooks
 * they run, a worker class given as a class (a plugin class extending the default worker serves
 * in every thread: src/workers/worker-classes.ts), and a logger class given as a class (each
 * thread writes its own access lines).
 */
function requestHookRefs(functions: Readonly<Record<string, string | null>>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of ["pre_request", "post_request", "worker_class", "logger_class"]) if (name in functions) out[name] = functions[name]!;
  return out;
}

/** The settings a thread gets: every value that survives a structured clone, functions as null. */
function threadSettings(cfg: Readonly<Record<string, unknown>> | object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === "function") {
      out[k] = null;
      continue;
    }
    try {
      out[k] = structuredClone(v);
    } catch {
      out[k] = null;
    }
  }
  return out;
}

