/**
 * @module
 * The arbiter's metrics and health address (`metrics_bind`): `Bun.serve` in the arbiter
 * process, so its answers come from the arbiter's event loop and its own worker table, never
 * from a worker (a worker stuck in a loop cannot delay them). Loaded only when `metrics_bind` is
 * set.
 *
 * - `/metrics`: Prometheus text (src/arbiter/metrics.ts); `/healthz`: 200 while the arbiter
 *   runs; `/readyz`: 200 or 503 with the reason; `/stats`: the JSON of `bunicorn ctl show stats`.
 *   GET and HEAD; anything else is a 405, an unknown path a 404.
 * - Bound at start: a taken address is one `Error:` line. After USR2 the new arbiter finds the
 *   address held by the old one and takes it over once the old one lets go, checking twice a
 *   second. A stale unix socket file (nothing answers on it) is removed; a live one, or a path
 *   that is not a socket, is refused. The file is removed at exit.
 */
import { lstatSync, unlinkSync } from "node:fs";
import type { Server } from "bun";
import { ConfigError } from "../errors.ts";
import type { LogMethods } from "../hook-types.ts";
import { parseBind, type BindAddress } from "../net/bind-address.ts";
import { PoolMetrics, type PoolView } from "./metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import { unixPathAnswers } from "../net/unix-path-live.ts";

/** What the endpoints read from the arbiter, at request time. */
export interface MetricsSource {
  /** `/stats`: the arbiter and its workers (src/arbiter/stats.ts). */
  stats(): unknown;
  /** `/readyz`: ready, or why not. */
  readiness(): { ready: boolean; reason: string };
  /** `/metrics`: the pool as it is now. */
  poolView(): PoolView;
}

const RETRY_MS = 500;

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

export class MetricsServer {
  /** The totals and restart counts, fed by the arbiter as workers exit. */
  readonly pool: PoolMetrics;
  private readonly address: BindAddress;
  private server: Server<undefined> | null = null;
  private source: MetricsSource | null = null;
  private log: LogMethods | null = null;
  /** After USR2: retries the bind until the old arbiter lets go of the address. */
  private retry: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  /** `spec` is a valid `metrics_bind` value (checked by the setting's validator). */
  constructor(
    readonly spec: string,
    /** The totals so far (a HUP that moves the address keeps them). */
    pool?: PoolMetrics,
  ) {
    this.pool = pool ?? new PoolMetrics();
    this.address = parseBind(spec);
  }

  /** What the log shows: `http://127.0.0.1:9100`, `unix:/run/app-metrics.sock`. */
  get display(): string {
    const a = this.address;
    if (a.kind === "unix") return `unix:${a.path}`;
    if (a.kind === "tcp") return `http://${a.family === 6 ? `[${a.host}]` : a.host}:${a.port}`;
    return this.spec;
  }

  /**
   * Binds at start. `waitForParent`: this arbiter was started by USR2; an address its parent
   * still holds is retried in the background instead of failing. Throws a ConfigError (the one
   * `Error:` line) when the address cannot be had.
   */
  async open(waitForParent: number | null): Promise<void> {
    try {
      await this.bind();
    } catch (e) {
      if (waitForParent !== null && (e as { code?: string }).code === "EADDRINUSE") {
        this.retry = setInterval(() => void this.takeOver(), RETRY_MS);
        return;
      }
      throw e instanceof ConfigError ? e : new ConfigError(`metrics_bind: cannot listen on ${this.spec}: ${(e as Error).message}`);
    }
  }

  /** Starts answering from `source` (the arbiter is running), logging through `log`. */
  attach(source: MetricsSource, log: LogMethods): void {
    this.source = source;
    this.log = log;
    if (this.server !== null) log.info("Metrics at: %s", this.display);
    else if (this.retry !== null) log.info("Metrics address %s is held by the old arbiter; taking it over when it exits", this.display);
  }

  /** A new logger after HUP. */
  setLog(log: LogMethods): void {
    this.log = log;
  }

  /** Stops answering; removes the unix socket file. Resolves once the address is free. */
  close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearInterval(this.retry);
    this.retry = null;
    const server = this.server;
    this.server = null;
    // Bun removes a unix socket's file when its server stops.
    return server?.stop(true) ?? Promise.resolve();
  }

  private async bind(): Promise<void> {
    const a = this.address;
    const fetch = (req: Request): Response => this.answer(req);
    const error = (e: Error): Response => {
      this.log?.error("metrics: %s", e.message);
      return text(500, "Internal Server Error\n");
    };
    if (a.kind === "unix") {
      try {
        this.server = Bun.serve({ unix: a.path, fetch, error, development: false });
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== "EADDRINUSE") throw e;
      }
      // Taken: a live server keeps it; a stale socket file is removed and bound again.
      let st;
      try {
        st = lstatSync(a.path);
      } catch {
        st = null;
      }
      if (st !== null && !st.isSocket()) throw new ConfigError(`metrics_bind: ${a.path} exists and is not a socket`);
      if (await unixPathAnswers(a.path)) throw Object.assign(new ConfigError(`metrics_bind: ${a.path} is in use (a running server answers on it)`), { code: "EADDRINUSE" });
      try {
        unlinkSync(a.path);
      } catch {}
      this.server = Bun.serve({ unix: a.path, fetch, error, development: false });
      return;
    }
    if (a.kind !== "tcp") throw new ConfigError(`metrics_bind: ${this.spec} is not HOST:PORT or unix:PATH`);
    try {
      // reusePort false, said explicitly: with `development: false` Bun 1.4.4 sets SO_REUSEPORT
      // unless told not to (strace), and a second server (another bunicorn, the USR2 child) would
      // then share the address silently instead of finding it taken.
      this.server = Bun.serve({ hostname: a.host, port: a.port, fetch, error, development: false, reusePort: false });
    } catch (e) {
      if ((e as { code?: string }).code === "EADDRINUSE") throw Object.assign(new ConfigError(`metrics_bind: Connection in use: ${a.host}:${a.port}`), { code: "EADDRINUSE" });
      throw e;
    }
  }

  private async takeOver(): Promise<void> {
    if (this.closed || this.server !== null) return;
    try {
      await this.bind();
    } catch {
      return; // still held: the next tick tries again
    }
    if (this.closed) return this.close();
    if (this.retry !== null) clearInterval(this.retry);
    this.retry = null;
    this.log?.info("Metrics at: %s", this.display);
  }

  private answer(req: Request): Response {
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("Method Not Allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    const src = this.source;
    if (src === null) return text(503, "starting\n");
    const url = req.url;
    const start = url.startsWith("/") ? 0 : url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", start);
    const path = start < 0 ? "/" : url.slice(start, q < 0 ? undefined : q);
    switch (path) {
      case "/metrics":
        return new Response(this.pool.render(src.poolView()), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" } });
      case "/healthz":
        return text(200, "ok\n");
      case "/readyz": {
        const r = src.readiness();
        return r.ready ? text(200, "ready\n") : text(503, `not ready: ${r.reason}\n`);
      }
      case "/stats":
        return Response.json(src.stats(), { headers: { "cache-control": "no-store" } });
      default:
        return text(404, "Not Found: try /metrics, /healthz, /readyz or /stats\n");
    }
  }
}
