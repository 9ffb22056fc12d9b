/**
 * @module
 * Snapshots of the worker table, made by the arbiter from what it already holds (each worker's
 * last heartbeat: requests, in flight, RSS), never by asking a worker: a worker stuck in a loop
 * cannot delay them. Served by the control socket (`bunicorn ctl show workers|stats`) and by the
 * metrics address's `/stats`, so both show the same fields.
 */
import { VERSION } from "../version.ts";

/** What a snapshot reads of one worker (the arbiter's worker handle satisfies it). */
export interface WorkerStatsSource {
  readonly pid: number;
  /** Spawn sequence number (Gunicorn's `age`). */
  readonly age: number;
  /** The reload generation it was spawned in (0 at start, +1 per HUP). */
  readonly generation: number;
  readonly booted: boolean;
  /** `performance.now()` at spawn. */
  readonly spawnedAt: number;
  /** `performance.now()` at its last message (heartbeat or other). */
  readonly lastBeat: number;
  readonly requests: number;
  readonly inFlight: number;
  /** Bytes, as of the last heartbeat (0 before the first). */
  readonly rss: number;
  /** Asked to stop (graceful or quick). */
  readonly stopping: boolean;
  /** Reached `max_requests`, waiting for its replacement. */
  readonly retiring: boolean;
}

/** A worker's state, from the arbiter's point of view. */
export type WorkerState = "booting" | "serving" | "retiring" | "stopping";

/** One worker, as `ctl show workers` and `/stats` report it (JSON-ready). */
export interface WorkerStats {
  pid: number;
  /** Spawn sequence number (Gunicorn's `age`). */
  age: number;
  generation: number;
  booted: boolean;
  state: WorkerState;
  /** Requests served, as of the last heartbeat. */
  requests: number;
  /** Requests in flight, as of the last heartbeat. */
  inFlight: number;
  /** Resident memory in bytes, as of the last heartbeat. */
  rss: number;
  /** Seconds since the last message from the worker (a stuck worker's grows). */
  heartbeatAge: number;
  /** Seconds since spawn. */
  uptime: number;
  /** Spawn time, ISO 8601 (UTC). */
  startedAt: string;
}

/** The arbiter and its pool in one object (`ctl show stats`, `/stats`). */
export interface ArbiterStats {
  pid: number;
  version: string;
  /** Seconds since the arbiter started. */
  uptime: number;
  startedAt: string;
  /** The current reload generation. */
  generation: number;
  /** The worker count asked for (`workers`, changed by TTIN/TTOU or `ctl worker add|remove`). */
  targetWorkers: number;
  /** Worker processes alive (all states). */
  workers: number;
  /** Workers of the current generation that are booted and not stopping (serving). */
  ready: number;
  /** Sums over live workers, as of their last heartbeats. */
  requests: number;
  inFlight: number;
  rss: number;
  /** The arbiter's own resident memory in bytes. */
  arbiterRss: number;
}

/** What an arbiter-level summary reads. */
export interface ArbiterStatsSource {
  readonly pid: number;
  /** `performance.now()` at arbiter start. */
  readonly startedAt: number;
  readonly generation: number;
  readonly targetWorkers: number;
  readonly workers: Iterable<WorkerStatsSource>;
}

/** Rounds to milliseconds as seconds (3 decimals), so JSON stays short. */
function seconds(ms: number): number {
  return Math.round(Math.max(0, ms)) / 1000;
}

function isoAt(perfMs: number): string {
  return new Date(performance.timeOrigin + perfMs).toISOString();
}

/** The state a worker is in, from the arbiter's flags. */
export function workerState(w: WorkerStatsSource): WorkerState {
  if (w.stopping) return "stopping";
  if (w.retiring) return "retiring";
  return w.booted ? "serving" : "booting";
}

/** One worker's snapshot. `now` is `performance.now()`. */
export function workerStats(w: WorkerStatsSource, now: number = performance.now()): WorkerStats {
  return {
    pid: w.pid,
    age: w.age,
    generation: w.generation,
    booted: w.booted,
    state: workerState(w),
    requests: w.requests,
    inFlight: w.inFlight,
    rss: w.rss,
    heartbeatAge: seconds(now - w.lastBeat),
    uptime: seconds(now - w.spawnedAt),
    startedAt: isoAt(w.spawnedAt),
  };
}

/** Every worker's snapshot, oldest (lowest age) first. */
export function workersStats(workers: Iterable<WorkerStatsSource>, now: number = performance.now()): WorkerStats[] {
  return [...workers].sort((a, b) => a.age - b.age).map((w) => workerStats(w, now));
}

/** The arbiter-level summary. */
export function arbiterStats(src: ArbiterStatsSource, now: number = performance.now()): ArbiterStats {
  let workers = 0;
  let ready = 0;
  let requests = 0;
  let inFlight = 0;
  let rss = 0;
  for (const w of src.workers) {
    workers++;
    if (w.booted && !w.stopping && !w.retiring && w.generation === src.generation) ready++;
    requests += w.requests;
    inFlight += w.inFlight;
    rss += w.rss;
  }
  return {
    pid: src.pid,
    version: VERSION,
    uptime: seconds(now - src.startedAt),
    startedAt: isoAt(src.startedAt),
    generation: src.generation,
    targetWorkers: src.targetWorkers,
    workers,
    ready,
    requests,
    inFlight,
    rss,
    arbiterRss: process.memoryUsage.rss(),
  };
}
