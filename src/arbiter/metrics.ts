/**
 * @module
 * The pool's metrics, kept by the arbiter from what its workers report with each heartbeat
 * (src/workers/request-report.ts) and from its own worker table, rendered for `/metrics` in
 * Prometheus' text format. Workers send cumulative counts since they started, so a total is the
 * sum over live workers plus the last counts of every worker that is gone: totals never go down
 * when a worker is replaced (a dead worker's requests since its last heartbeat, at most about a
 * second's, are the only ones lost; a graceful exit sends a last heartbeat).
 */
import { addCounts, DURATION_BUCKETS, emptyCounts, type RequestCounts } from "../workers/request-report.ts";
import { PrometheusText } from "./prometheus.ts";

/** Why a worker was replaced (`bunicorn_worker_restarts_total{reason}`). */
export type RestartReason = "timeout" | "memory" | "max_requests" | "crash";
export const RESTART_REASONS: readonly RestartReason[] = ["timeout", "memory", "max_requests", "crash"];

/** What the metrics read of a worker (the arbiter's worker handle satisfies it). */
export interface MetricsWorker {
  readonly pid: number;
  readonly booted: boolean;
  readonly stopping: boolean;
  /** Set when the arbiter killed it for a missed heartbeat (or a boot that never finished). */
  readonly abortedAt: number | null;
  /** Being replaced: `max_requests` or `max_memory`. */
  readonly retiring: boolean;
  /** Why it is retiring (`max_requests`, `memory`), when it is. */
  readonly retireReason: string | null;
  readonly inFlight: number;
  readonly rss: number;
  /** `performance.now()` of its last message. */
  readonly lastBeat: number;
  /** Its counts as of its last heartbeat (null before the first, or without `metrics_bind`). */
  readonly counts: RequestCounts | null;
}

/** A listening socket's accept-queue length, as `bunicorn_listen_backlog` reports it. */
export interface ListenerBacklog {
  address: string;
  mode: string;
  backlog: number;
}

/** What `/metrics` shows, read from the arbiter at scrape time. */
export interface PoolView {
  workers: Iterable<MetricsWorker>;
  targetWorkers: number;
  listeners: readonly ListenerBacklog[];
}

/**
 * Why an exited worker was replaced, or null when the arbiter stopped it on purpose (reload,
 * scale-down, shutdown, `ctl worker kill`): killed for a missed heartbeat or a boot timeout
 * (`timeout`), recycled (`memory`, `max_requests`), or exited unasked (`crash`).
 */
export function restartReason(w: MetricsWorker): RestartReason | null {
  if (w.abortedAt !== null) return "timeout";
  if (w.retiring && w.stopping) return w.retireReason === "memory" ? "memory" : "max_requests";
  if (w.stopping) return null;
  return "crash";
}

export class PoolMetrics {
  /** The last counts of workers that are gone. */
  private readonly gone: RequestCounts = emptyCounts();
  private readonly restarts = new Map<RestartReason, number>(RESTART_REASONS.map((r) => [r, 0]));

  /** A worker exited: keeps its last counts and, unless the server is stopping (`restart` false), counts the restart by its reason. */
  workerExited(w: MetricsWorker, restart = true): void {
    if (w.counts !== null) addCounts(this.gone, w.counts);
    if (!restart) return;
    const reason = restartReason(w);
    if (reason !== null) this.restarts.set(reason, (this.restarts.get(reason) ?? 0) + 1);
  }

  /** The exposition for `/metrics`; `now` is `performance.now()`. */
  render(view: PoolView, now: number = performance.now()): string {
    const total = addCounts(emptyCounts(), this.gone);
    const workers = [...view.workers];
    let inFlight = 0;
    for (const w of workers) {
      if (w.counts !== null) addCounts(total, w.counts);
      inFlight += w.inFlight;
    }
    const out = new PrometheusText();
    out.family("bunicorn_requests_total", "counter", "Responses the workers gave the app's requests, by status class.");
    total.status.forEach((n, i) => out.sample("bunicorn_requests_total", n, { status: `${i + 1}xx` }));
    out.family("bunicorn_request_duration_seconds", "histogram", "Time from a request reaching the app to its Response being ready (a streamed body's time is not included).");
    out.histogram("bunicorn_request_duration_seconds", DURATION_BUCKETS, total.buckets, Math.round(total.sum * 1e6) / 1e6);
    out.family("bunicorn_requests_in_flight", "gauge", "Requests being handled, as of each worker's last heartbeat.");
    out.sample("bunicorn_requests_in_flight", inFlight);
    out.family("bunicorn_workers", "gauge", "Worker processes alive, by state.");
    const states = { booting: 0, serving: 0, stopping: 0 };
    for (const w of workers) states[w.stopping ? "stopping" : w.booted ? "serving" : "booting"]++;
    for (const [state, n] of Object.entries(states)) out.sample("bunicorn_workers", n, { state });
    out.family("bunicorn_workers_target", "gauge", "The worker count asked for (workers, TTIN/TTOU).");
    out.sample("bunicorn_workers_target", view.targetWorkers);
    out.family("bunicorn_worker_restarts_total", "counter", "Workers replaced, by reason: timeout (missed heartbeat), memory (max_memory), max_requests, crash (exited unasked).");
    for (const [reason, n] of this.restarts) out.sample("bunicorn_worker_restarts_total", n, { reason });
    out.family("bunicorn_worker_rss_bytes", "gauge", "Resident memory of each worker process, as of its last heartbeat.");
    for (const w of workers) out.sample("bunicorn_worker_rss_bytes", w.rss, { pid: w.pid });
    out.family("bunicorn_worker_heartbeat_age_seconds", "gauge", "Seconds since each worker's last message (a stuck worker's grows up to timeout).");
    for (const w of workers) out.sample("bunicorn_worker_heartbeat_age_seconds", Math.max(0, Math.round(now - w.lastBeat)) / 1000, { pid: w.pid });
    out.family("bunicorn_listen_backlog", "gauge", "The accept-queue length each listening socket was opened with (Bun.serve's fixed 512 in reuse-port mode, backlog in shared-socket mode).");
    for (const l of view.listeners) out.sample("bunicorn_listen_backlog", l.backlog, { listener: l.address, mode: l.mode });
    return out.toString();
  }
}
