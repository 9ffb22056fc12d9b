/**
 * A worker class written from the base class, not from the default worker: it shows what the
 * base gives (`this.handle()` for every request: hooks, `worker_connections`, plain 500s,
 * counting, access lines) and what a class does itself: listening on each of `this.listeners`
 * (its own SO_REUSEPORT socket with Bun.serve, or the arbiter's shared socket by fd with
 * bunicorn's HTTP engine) and stopping. No TLS, keep-alive tuning or WebSockets here: to keep
 * those, extend `ProcessWorker` instead (custom-worker.ts).
 *
 *     bunicorn app.ts -k examples/plugins/minimal-worker.ts#MinimalWorker
 */
import { serveHttp, type HttpEngine } from "bunicorn/http";
import { Worker } from "bunicorn/worker";

export class MinimalWorker extends Worker {
  private stops: ((graceful: boolean) => Promise<void>)[] = [];

  override async serve(): Promise<void> {
    for (const l of this.listeners) {
      if (l.mode === "reuse-port") {
        const server = Bun.serve({ hostname: l.host, port: l.port, reusePort: true, fetch: (req, srv) => this.handle(req, srv) });
        this.stops.push((graceful) => server.stop(!graceful));
      } else {
        const engine: HttpEngine = serveHttp({ fd: l.fd }, { fetch: (req, srv) => this.handle(req, srv) });
        this.stops.push((graceful) => engine.stop(graceful));
      }
    }
    this.log.info("MinimalWorker listening on %s", this.listeners.map((l) => l.display).join(", "));
  }

  override async stop(graceful: boolean): Promise<void> {
    this.alive = false;
    await Promise.all(this.stops.splice(0).map((stop) => stop(graceful)));
  }
}
