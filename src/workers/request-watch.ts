/**
 * @module
 * What a worker notes about its requests for the arbiter, through `Worker.handle`: the requests
 * in flight (stuck-worker forensics: the arbiter names them when it kills the worker for a
 * missed heartbeat) and, with `metrics_bind`, responses by status class and a duration histogram.
 * Created by the runner (a worker process, a gthread thread) only when one of them is wanted.
 *
 * The per-request cost is kept to a few field reads and increments: a request whose app answers
 * synchronously is never stored; only one whose app returns a promise is kept in a Map until it
 * settles (the heartbeat can only run while such a request waits). A request that blocks the
 * event loop from its first line can be named only if the worker said so *before* running it,
 * and an IPC message costs about 6 µs, so that is a sample: the first request after each
 * heartbeat is reported at once (and cleared again when it ends without blocking). On a worker
 * that is not busy all the time, that is every request; under a steady load, a request stuck
 * from its first line is named only when it was that first one, and nothing is named otherwise
 * (a finished request is never named).
 */
import { DURATION_BUCKETS, emptyCounts, MAX_BUSY, type BusyRequest, type RequestCounts, type RequestReport } from "./request-report.ts";

export interface RequestWatchOptions {
  /** Keep the requests in flight (the arbiter's forensics; wanted when `timeout` > 0). */
  forensics: boolean;
  /** Count responses by status class and their durations (`metrics_bind` is set). */
  metrics: boolean;
  /** Sends an in-flight report at once (IPC to the arbiter, or a thread's post to its process). */
  send: (busy: BusyRequest[]) => void;
}

const MAX_PATH = 200;
const LAST_BUCKET = DURATION_BUCKETS.length;

export class RequestWatch {
  /** The next request is reported before it runs (set by each heartbeat). */
  private due: boolean;
  /** The request reported before it ran, until it ends. */
  private reported: Request | null = null;
  /** Requests whose app returned a promise, with their start (`performance.now()`), oldest first. */
  private readonly held = new Map<Request, number>();
  private readonly counts: RequestCounts | null;
  private readonly forensics: boolean;
  private readonly send: (busy: BusyRequest[]) => void;

  constructor(opts: RequestWatchOptions) {
    this.forensics = opts.forensics;
    this.due = opts.forensics;
    this.counts = opts.metrics ? emptyCounts() : null;
    this.send = opts.send;
  }

  /** A request reaches the app. Returns its start time for {@link end} (0 when nothing is timed). */
  begin(req: Request): number {
    if (this.due) this.reportNow(req);
    return this.counts === null ? 0 : performance.now();
  }

  /** The app returned a promise: `req` stays in flight until {@link end}. */
  hold(req: Request): void {
    if (this.forensics) this.held.set(req, performance.now());
  }

  /** `req` is answered with `status`; `held` when {@link hold} was called for it. */
  end(req: Request, status: number, start: number, held: boolean): void {
    if (held) this.held.delete(req);
    if (this.reported === req) {
      this.reported = null;
      this.send(this.busy() ?? []);
    }
    const c = this.counts;
    if (c !== null) observe(c, status, performance.now() - start);
  }

  /** A request refused before the app ran (`worker_connections`' 503). */
  refused(status: number): void {
    const c = this.counts;
    if (c !== null) observe(c, status, 0);
  }

  /** The heartbeat ticked: report the next request before it runs. */
  tick(): void {
    if (this.forensics) this.due = true;
  }

  /** For the heartbeat: the oldest requests in flight (when any) and the counts (with metrics). */
  report(): RequestReport {
    const out: RequestReport = {};
    const busy = this.busy();
    if (busy !== undefined) out.busy = busy;
    if (this.counts !== null) out.counts = this.counts;
    return out;
  }

  private busy(extra?: Request): BusyRequest[] | undefined {
    if (this.held.size === 0 && extra === undefined) return undefined;
    const now = performance.now();
    const out: BusyRequest[] = [];
    const room = extra === undefined ? MAX_BUSY : MAX_BUSY - 1;
    for (const [req, start] of this.held) {
      if (out.length >= room) break;
      out.push(describe(req, now - start));
    }
    if (extra !== undefined) out.push(describe(extra, 0));
    return out;
  }

  private reportNow(req: Request): void {
    this.due = false;
    this.reported = req;
    this.send(this.busy(req)!);
  }
}

function describe(req: Request, ageMs: number): BusyRequest {
  return { method: req.method, path: pathOf(req.url), ageMs: Math.round(ageMs) };
}

/** The path of a request URL, without the scheme, host and query. */
export function pathOf(url: string): string {
  const scheme = url.startsWith("/") ? -1 : url.indexOf("//");
  const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 2);
  if (start < 0) return "/";
  let end = url.indexOf("?", start);
  if (end < 0) end = url.length;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  const path = url.slice(start, end);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}...` : path;
}

function observe(c: RequestCounts, status: number, ms: number): void {
  const cls = Math.floor(status / 100) - 1;
  c.status[cls < 0 ? 0 : cls > 4 ? 4 : cls]!++;
  const s = ms / 1000;
  let i = 0;
  while (i < LAST_BUCKET && s > DURATION_BUCKETS[i]!) i++;
  c.buckets[i]!++;
  c.sum += s;
}
