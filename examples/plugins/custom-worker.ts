/**
 * A worker class that extends bunicorn's default worker: it keeps everything the default worker
 * does (both listening modes, TLS, WebSockets, Bun routes, keep-alive, access lines with the
 * bytes that went on the wire, `--threads`) and adds two things of its own.
 *
 *     bunicorn app.ts -k examples/plugins/custom-worker.ts#StampingWorker
 */
import { ProcessWorker } from "bunicorn/worker";

export class StampingWorker extends ProcessWorker {
  /** After the default worker is listening: one line of its own in the error log. */
  override async serve(): Promise<void> {
    await super.serve();
    this.log.info("StampingWorker %s serving %s", this.age, this.listeners.map((l) => l.display).join(", "));
  }

  /** Every request: `/-/worker` is answered here, the rest by the app with an `X-Worker` header. */
  override async respond(req: Request, _server: unknown, next: () => Response | Promise<Response>): Promise<Response> {
    if (new URL(req.url).pathname === "/-/worker") {
      return Response.json({ pid: this.pid, age: this.age, served: this.requests });
    }
    const res = await next();
    // After `server.upgrade(req)` an app returns nothing: the WebSocket is bunicorn's to finish.
    if (res instanceof Response) res.headers.set("x-worker", `stamping/${this.age}`);
    return res;
  }
}
