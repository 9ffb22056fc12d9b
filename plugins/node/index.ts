/**
 * @module
 * bunicorn-node: a first-party worker plugin that serves Node-style `(req, res)` handlers
 * (Express, Koa's `app.callback()`, `http.createServer` request listeners).
 *
 *     bunicorn -k node app.ts              # the built-in alias
 *     bunicorn -k egg:bunicorn-node#node app.ts
 *
 * The app module exports the handler (`export default app`, or `app.ts:name`): under this
 * worker class bunicorn calls the export as `handler(req, res)` instead of `fetch(request)`.
 * Nothing is guessed from the export's shape: the worker class says what the app is.
 *
 * `NodeWorker` extends the default worker and only adapts each request (node-fetch.ts), so
 * everything else is bunicorn's own in every mode: reuse-port (Bun.serve) and shared sockets
 * (bunicorn's HTTP engine: `unix:`, `fd://`, systemd, `--no-reuse-port`), `--threads N` (one
 * handler per thread, as gthread runs the default worker), TLS, keep-alive, the request limits
 * and timeouts, graceful stops, heartbeats and access lines with the bytes sent.
 */
import { ProcessWorker, type ProcessWorkerOptions } from "bunicorn/worker";
import { nodeFetch, type NodeRequestHandler } from "./node-fetch.ts";

export { nodeFetch, type NodeFetchOptions, type NodeRequestHandler } from "./node-fetch.ts";

export class NodeWorker extends ProcessWorker {
  constructor(opts: ProcessWorkerOptions) {
    const log = opts.log;
    // The app module's export, as loaded: a function (a fetch function to other worker classes).
    const handler = opts.app.fetch as unknown as NodeRequestHandler;
    const fetch = nodeFetch(handler, {
      onError: (e, req) => log.error("Error handling request %s", pathOf(req.url), e instanceof Error ? (e.stack ?? e.message) : String(e)),
    });
    super({ ...opts, app: { fetch } });
    if (opts.app.routes !== undefined || opts.app.websocket !== undefined) {
      this.refused = "the app has Bun routes or websocket handlers, which only a fetch app has; -k node serves a Node (req, res) handler";
    }
  }

  /** Why this worker cannot serve the app (reported when it starts serving), or null. */
  private refused: string | null = null;

  override async serve(): Promise<void> {
    if (this.refused !== null) throw new Error(`worker_class node: ${this.refused}`);
    await super.serve();
  }
}

function pathOf(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? url : url.slice(i);
}
