/**
 * @module
 * `Worker`: the base class of every worker class, built in or from a plugin. A worker class
 * decides how a worker process serves the app; the runner (`worker-main.ts`) does the rest:
 * settings, hooks, app loading, heartbeats, signals, IPC and recycling.
 *
 * A plugin worker class extends `Worker` and implements `serve()` and `stop()`, calling
 * `this.handle(req, server)` for each request so that hooks, limits and counting apply.
 */
import type { FetchApp } from "../app/load-app.ts";
import type { Settings } from "../config/registry.ts";
import type { ArbiterInfo, HookRequest, WorkerView } from "../hook-types.ts";
import type { Logger } from "../log/logger.ts";
import { sendResponse } from "./bun-serve-response.ts";
import { clientErrorOf, clientErrorResponse } from "./client-error.ts";
import type { ListenerSpec } from "./protocol.ts";
import type { RequestReport } from "./request-report.ts";
import type { RequestWatch } from "./request-watch.ts";
import { upgradeRecord, UPGRADED, wasUpgraded } from "./websocket-upgrade.ts";

export interface WorkerOptions {
  age: number;
  arbiter: ArbiterInfo;
  cfg: Readonly<Settings>;
  log: Logger;
  listeners: readonly ListenerSpec[];
  app: FetchApp;
  /** The app as named on the command line (`APP_MODULE`), for classes that load it again (gthread threads). */
  appSpec: string;
  /**
   * Where this process's function settings (hooks, classes) came from, for classes that import
   * them again elsewhere (gthread threads run `pre_request`/`post_request`): each setting's
   * `PATH#EXPORT` reference, or null for one taken from `configFile`. Empty when none.
   */
  functionRefs?: { functions: Readonly<Record<string, string | null>>; configFile: string | null };
  /** Called after each request with the running total, so the runner can recycle the worker. */
  onRequestDone: (served: number) => void;
  /** In-flight requests and metrics for the arbiter (src/workers/request-watch.ts); absent when neither is wanted. */
  watch?: RequestWatch | null;
}

const SERVER_ERROR = "Internal Server Error";

export abstract class Worker implements WorkerView {
  readonly pid = process.pid;
  readonly ppid: number;
  readonly age: number;
  readonly cfg: Readonly<Settings>;
  readonly log: Logger;
  readonly arbiter: ArbiterInfo;
  readonly listeners: readonly ListenerSpec[];
  readonly app: FetchApp;
  readonly appSpec: string;
  readonly functionRefs: NonNullable<WorkerOptions["functionRefs"]>;
  alive = true;
  /** Requests completed by this worker. */
  requests = 0;
  /** Requests being handled now. */
  inFlight = 0;
  private readonly onRequestDone: (served: number) => void;
  private readonly maxInFlight: number;
  /** Null unless the arbiter wants in-flight requests or metrics (one check per request). */
  private readonly requestWatch: RequestWatch | null;
  /** A subclass overrides {@link respond} (checked once, so the default path allocates nothing). */
  private readonly wrapped: boolean;

  constructor(opts: WorkerOptions) {
    this.ppid = opts.arbiter.pid;
    this.age = opts.age;
    this.cfg = opts.cfg;
    this.log = opts.log;
    this.arbiter = opts.arbiter;
    this.listeners = opts.listeners;
    this.app = opts.app;
    this.appSpec = opts.appSpec;
    this.functionRefs = opts.functionRefs ?? { functions: {}, configFile: null };
    this.onRequestDone = opts.onRequestDone;
    this.maxInFlight = opts.cfg.worker_connections;
    this.wrapped = this.respond !== Worker.prototype.respond;
    this.requestWatch = opts.watch ?? null;
  }

  /**
   * What the heartbeat tells the arbiter about requests: the oldest in flight, and the status
   * and duration counts when `metrics_bind` is set. (A class whose requests run elsewhere, such
   * as gthread's threads, gathers them from there.)
   */
  requestReport(): RequestReport {
    return this.requestWatch === null ? {} : this.requestWatch.report();
  }

  /** Start listening on every listener; resolve once requests can be served. */
  abstract serve(): Promise<void>;

  /** USR1: reopen any log file the class writes itself (the runner reopens the process's logger). */
  reopenLogs(): void {}

  /** Stop serving. Graceful: stop accepting, finish in-flight requests, then resolve. */
  abstract stop(graceful: boolean): Promise<void>;

  /**
   * The per-request hook of plugin worker classes (docs/plugins.md): runs for every request in
   * place of the app, inside {@link handle} (after `pre_request`, within `worker_connections`,
   * with errors turned into a plain 500, counted and access-logged with what went on the wire).
   * `next()` runs the app (or the handler of the Bun route the request took). The default is
   * `next()`; override it to add headers, answer some requests yourself, time or trace them.
   */
  respond(_req: Request, _server: unknown, next: () => Response | Promise<Response>): Response | Promise<Response> {
    return next();
  }

  /**
   * Handles one request through the app, with `worker_connections`, the `pre_request` and
   * `post_request` hooks, error containment (a plain 500, never a stack trace) and counting.
   * `handler` runs instead of the app's `fetch`: the handler of the Bun route the request took.
   */
  handle(req: Request, server: unknown, record = true, handler?: (req: Request, server: unknown) => Response | Promise<Response>): Response | Promise<Response> {
    if (this.inFlight >= this.maxInFlight) {
      this.requestWatch?.refused(503);
      return new Response("Service Unavailable", { status: 503, headers: { "content-type": "text/plain", connection: "close" } });
    }
    this.inFlight++;
    // In flight for the arbiter's forensics, timed for the metrics (src/workers/request-watch.ts).
    const watch = this.requestWatch;
    const start = watch === null ? 0 : watch.begin(req);
    const { pre_request, post_request } = this.cfg;
    const log = record && this.log.wantsRecords ? performance.now() : -1;
    let result: Response | Promise<Response>;
    try {
      if (pre_request) this.runHook("pre_request", () => pre_request(this, hookRequest(req)));
      if (this.wrapped) result = this.respond(req, server, handler === undefined ? () => this.app.fetch(req, server) : () => handler(req, server));
      else result = handler === undefined ? this.app.fetch(req, server) : handler(req, server);
    } catch (e) {
      result = this.failed(e, req);
    }
    if (result instanceof Response && !post_request) {
      // An upgraded request is a 101 whatever the app returns (Hono returns `new Response(null)`).
      if (wasUpgraded(req)) return this.upgraded(req, log, start, false);
      this.done(req, result.status, start, false);
      return log >= 0 ? this.logAccess(req, server, result, log) : result;
    }
    if (watch !== null) watch.hold(req);
    return Promise.resolve(result).then(
      (res) => {
        // After `server.upgrade(req)` the app returns nothing (or a Response Bun ignores): a 101, not an error.
        if (wasUpgraded(req)) return this.upgraded(req, log, start, true);
        const checked = res instanceof Response ? res : this.failed(new TypeError("the app returned a non-Response value"), req);
        if (post_request) this.runHook("post_request", () => post_request(this, hookRequest(req), environOf(req), checked));
        this.done(req, checked.status, start, true);
        return log >= 0 ? this.logAccess(req, server, checked, log) : checked;
      },
      (e) => {
        const res = this.failed(e, req);
        // As in Gunicorn, post_request runs for a failed request too, with the error response.
        if (post_request) this.runHook("post_request", () => post_request(this, hookRequest(req), environOf(req), res));
        this.done(req, res.status, start, true);
        return log >= 0 ? this.logAccess(req, server, res, log) : res;
      },
    );
  }

  /**
   * Logs a request served by Bun.serve with what went on the wire (src/workers/bun-serve-response.ts);
   * returns the Response to send (a streamed body is counted, and logged when it ends).
   */
  private logAccess(req: Request, server: unknown, res: Response, start: number): Response {
    return sendResponse(this.log, req, server, res, start, -1);
  }

  /** An upgraded request: counted, its 101 logged (`post_request` has no Response to get). */
  private upgraded(req: Request, log: number, start: number, held: boolean): Response {
    this.done(req, 101, start, held);
    if (log >= 0) this.log.access(upgradeRecord(req, performance.now() - log));
    return UPGRADED;
  }

  private done(req: Request, status: number, start: number, held: boolean): void {
    this.inFlight--;
    this.requests++;
    if (this.requestWatch !== null) this.requestWatch.end(req, status, start, held);
    this.onRequestDone(this.requests);
  }

  private failed(e: unknown, req: Request): Response {
    // The client's fault (a bad or slow body, a client gone): one DEBUG line, its 4xx (client-error.ts).
    const client = clientErrorOf(e);
    if (client !== null) {
      this.log.debug("Client error handling request %s: %s", safePath(req.url), client.message);
      return clientErrorResponse(client);
    }
    this.log.error("Error handling request %s", safePath(req.url), e instanceof Error ? (e.stack ?? e.message) : String(e));
    return new Response(SERVER_ERROR, { status: 500, headers: { "content-type": "text/plain" } });
  }

  private runHook(name: string, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((e) => this.log.error("Exception in %s hook: %s", name, e));
    } catch (e) {
      this.log.error("Exception in %s hook: %s", name, e);
    }
  }
}

function safePath(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? url : url.slice(i);
}

function hookRequest(req: Request): HookRequest {
  const path = safePath(req.url);
  const q = path.indexOf("?");
  return { method: req.method, path: q < 0 ? path : path.slice(0, q), query: q < 0 ? "" : path.slice(q + 1), request: req };
}

function environOf(req: Request): Record<string, string> {
  const h = hookRequest(req);
  return { REQUEST_METHOD: h.method, PATH_INFO: h.path, QUERY_STRING: h.query, SERVER_PROTOCOL: "HTTP/1.1" };
}
