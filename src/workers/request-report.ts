/**
 * @module
 * What a worker reports about its requests with each heartbeat (src/workers/protocol.ts), for
 * the arbiter's metrics (`metrics_bind`) and its stuck-worker forensics: plain data, the same
 * from a worker process and from a gthread thread to its process.
 */

/**
 * The upper bounds (seconds) of the request-duration histogram's buckets, Prometheus' default
 * buckets; a last bucket, `+Inf`, takes the rest.
 */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Cumulative counts since the worker (or thread) started. */
export interface RequestCounts {
  /** Responses by status class: `[1xx, 2xx, 3xx, 4xx, 5xx]`. */
  status: number[];
  /** Durations per bucket, NOT cumulative: `buckets[i]` counts those in `(bound[i-1], bound[i]]`; the last is `+Inf`. */
  buckets: number[];
  /** The sum of durations, in seconds. */
  sum: number;
}

/** A request in flight, as a worker last reported it. */
export interface BusyRequest {
  method: string;
  /** The path, without the query (which may hold secrets), at most 200 characters. */
  path: string;
  /** Milliseconds since the request reached the app, when the report was made. */
  ageMs: number;
}

/** What a heartbeat carries about requests, each part only when there is something to say. */
export interface RequestReport {
  /** The oldest requests in flight (at most {@link MAX_BUSY}); absent when none. */
  busy?: BusyRequest[];
  /** Present only when `metrics_bind` is set. */
  counts?: RequestCounts;
}

/** At most this many in-flight requests go in a report (the oldest). */
export const MAX_BUSY = 5;

export function emptyCounts(): RequestCounts {
  return { status: [0, 0, 0, 0, 0], buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0 };
}

/** Adds `b` into `into` (both cumulative counts). */
export function addCounts(into: RequestCounts, b: RequestCounts): RequestCounts {
  for (let i = 0; i < into.status.length; i++) into.status[i]! += b.status[i] ?? 0;
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i]! += b.buckets[i] ?? 0;
  into.sum += b.sum;
  return into;
}

/** The oldest `MAX_BUSY` of several lists (ages as of the same moment). */
export function oldestBusy(lists: Iterable<readonly BusyRequest[]>): BusyRequest[] | undefined {
  const all: BusyRequest[] = [];
  for (const l of lists) all.push(...l);
  if (all.length === 0) return undefined;
  return all.sort((a, b) => b.ageMs - a.ageMs).slice(0, MAX_BUSY);
}

/**
 * The in-flight requests of a report for a log line, aged to now: `GET /spin (2.5 s), POST /x
 * (0.3 s)`. `sinceMs` is the time since the report arrived. Null when there are none.
 */
export function formatBusy(busy: readonly BusyRequest[] | null | undefined, sinceMs: number): string | null {
  if (!busy || busy.length === 0) return null;
  return busy.map((b) => `${b.method} ${b.path} (${((b.ageMs + Math.max(0, sinceMs)) / 1000).toFixed(1)} s)`).join(", ");
}
