/**
 * @module
 * `bunicorn/worker`: the worker classes a plugin extends (docs/plugins.md).
 *
 * - {@link ProcessWorker}: the default class (`sync`, alias `process`). A class that extends it
 *   keeps everything the default worker does in every listening mode: Bun.serve with
 *   `reusePort` or bunicorn's HTTP engine on a shared socket, TLS and `ssl_context`, WebSockets,
 *   Bun `routes`, keep-alive and the slow-client timeouts, and access lines with the status and
 *   bytes that went on the wire. With `--threads N` (N > 1) it runs in N threads per process, as
 *   `gthread` runs the default class.
 * - {@link Worker}: the base of every worker class (also exported from `bunicorn`), for a class
 *   that serves in its own way (`serve()`, `stop()`, and `handle()` for each request).
 *
 * The stable extension points, on both: `respond(req, server, next)` (the per-request hook),
 * `serve()` and `stop(graceful)` (call `super` in a subclass of `ProcessWorker`), `reopenLogs()`,
 * and the read-only fields (`cfg`, `log`, `app`, `listeners`, `age`, `pid`, `ppid`, `alive`,
 * `requests`, `inFlight`). `gthread`'s own class is not exported: its threads run the default
 * class (or yours, with `--threads`), so there is nothing in it to extend.
 */
export { Worker, type WorkerOptions } from "./workers/base.ts";
export { ProcessWorker, type ProcessWorkerOptions } from "./workers/process-worker.ts";
export type { WorkerClass } from "./workers/worker-classes.ts";
export type { ListenerSpec, ListenMode } from "./workers/protocol.ts";
