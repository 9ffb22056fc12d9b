/**
 * @module
 * The default worker class (`sync`, alias `process`): one Bun process serving every listener on
 * its event loop. In reuse-port mode it runs `Bun.serve({reusePort: true})` (Bun's native
 * parser); in shared-socket mode it serves the arbiter's socket with bunicorn's HTTP engine.
 */
import type { Server } from "bun";
import { headerValue } from "../http/header-value.ts";
import type { HttpEngine, ResponseRecord } from "../http/index.ts";
import type { AccessRecord } from "../log/access-format.ts";
import { Worker, type WorkerOptions } from "./base.ts";
import { logServeError } from "./client-error.ts";
import type { ListenerSpec } from "./protocol.ts";
import { serveReusePort } from "./reuse-port-server.ts";
import { closingIdle, onCloseIdle } from "./stop-hint.ts";
import { publishChannelOf } from "./thread-pubsub.ts";
import { resolveTlsOptions, type TlsOptions } from "./tls-options.ts";

type Running = { kind: "bun"; server: Server<unknown>; listener: ListenerSpec } | { kind: "engine"; engine: HttpEngine };

export interface ProcessWorkerOptions extends WorkerOptions {
  /** TLS options already resolved by the process (gthread threads get their process's); else built in `serve()`. */
  tls?: TlsOptions | null;
}

export class ProcessWorker extends Worker {
  private running: Running[] = [];
  /** Bun's TLS options for every listener (both engines), or null for plain HTTP. */
  private tls: TlsOptions | null | undefined;
  /** The engine's `fetch` for an app with Bun `routes`; null: every request goes to `handle()`. */
  private routeFetch: ((req: Request, server: unknown) => Response | Promise<Response>) | null = null;

  constructor(opts: ProcessWorkerOptions) {
    super(opts);
    this.tls = opts.tls;
  }

  override async serve(): Promise<void> {
    // The SSL settings through the ssl_context hook (src/workers/tls-options.ts), once per process.
    if (this.tls === undefined) this.tls = await resolveTlsOptions(this.cfg);
    // The HTTP engine is loaded only when a shared socket needs it.
    const engine = this.listeners.some((l) => l.mode === "shared-socket") ? await import("../http/index.ts") : null;
    // `--no-sendfile` under Bun.serve needs the body inspection, loaded only then.
    const noSendfile = this.cfg.sendfile === false ? (await import("../http/blob-body.ts")).withoutSendfile : null;
    // Bun `routes` in the engine: routed as Bun.serve routes them (src/workers/route-serving.ts).
    const routes = this.app.routes;
    if (engine !== null && routes !== undefined) {
      this.routeFetch = (await import("./route-serving.ts")).engineRouteFetch(routes, (req, server, h) => this.handle(req, server, false, h));
    }
    for (const listener of this.listeners) this.running.push(this.listen(listener, engine?.serveHttp, noSendfile));
  }

  private listen(
    listener: ListenerSpec,
    serveHttp?: typeof import("../http/index.ts").serveHttp,
    noSendfile: ((res: Response) => Response) | null = null,
  ): Running {
    const cfg = this.cfg;
    if (listener.mode === "reuse-port") {
      // Reuse-port serving (Bun.serve, its options and request wrapper) is in reuse-port-server.ts.
      return { kind: "bun", server: serveReusePort(this, listener, noSendfile, this.tls ?? null), listener };
    }
    const engine = serveHttp!(
      { fd: listener.fd },
      {
        fetch: this.routeFetch ?? ((req, server) => this.handle(req, server, false)),
        ...(this.log.wantsRecords ? { onResponse: (r: ResponseRecord) => this.log.access(toAccessRecord(r)) } : {}),
        limitRequestLine: cfg.limit_request_line,
        limitRequestFields: cfg.limit_request_fields,
        limitRequestFieldSize: cfg.limit_request_field_size,
        permitObsoleteFolding: cfg.permit_obsolete_folding,
        stripHeaderSpaces: cfg.strip_header_spaces,
        permitUnconventionalHttpMethod: cfg.permit_unconventional_http_method,
        permitUnconventionalHttpVersion: cfg.permit_unconventional_http_version,
        casefoldHttpMethod: cfg.casefold_http_method,
        proxyProtocol: cfg.proxy_protocol === true ? "auto" : cfg.proxy_protocol,
        proxyAllowIps: cfg.proxy_allow_ips,
        // Trusted proxies (src/http/forwarding.ts): scheme headers, forwarder headers, header_map.
        forwardedAllowIps: cfg.forwarded_allow_ips,
        secureSchemeHeaders: cfg.secure_scheme_headers,
        forwarderHeaders: cfg.forwarder_headers,
        headerMap: cfg.header_map,
        keepalive: cfg.keepalive,
        bodyTimeout: cfg.body_timeout,
        bodyMinRate: cfg.body_min_rate,
        maxInFlight: cfg.worker_connections,
        maxRequestBodySize: cfg.limit_request_body,
        sendfile: cfg.sendfile !== false,
        tls: this.tls ?? null,
        // The app's `websocket` handlers, as Bun.serve gets them; in gthread, topics span the threads.
        ...(this.app.websocket ? { websocket: this.app.websocket as never, publishChannel: publishChannelOf(listener) ?? undefined } : {}),
        // A client error (a bad body streamed back, a client gone) is one DEBUG line, not an ERROR (client-error.ts).
        onError: (e) => logServeError(this.log, e),
      },
    );
    return { kind: "engine", engine };
  }

  override async stop(graceful: boolean): Promise<void> {
    this.alive = false;
    const running = this.running;
    this.running = [];
    const stopped = Promise.all(running.map((r) => (r.kind === "engine" ? r.engine.stop(graceful) : graceful ? this.drain(r.server, r.listener) : r.server.stop(true))));
    // Nothing takes over (the arbiter's close-idle, stop-hint.ts): the engine keeps no idle connection.
    if (graceful) onCloseIdle(() => running.forEach((r) => r.kind === "engine" && r.engine.endDrain()));
    await stopped;
  }

  /**
   * A graceful stop under Bun.serve: its keep-alive connections drained, their next requests
   * answered with `Connection: close` (src/workers/reuse-port-drain.ts, loaded only now).
   */
  private async drain(server: Server<unknown>, listener: ListenerSpec): Promise<void> {
    const { drainBunServer } = await import("./reuse-port-drain.ts");
    await drainBunServer(server, listener, () => this.requests + this.inFlight, closingIdle);
  }
}

/** The engine's record of a finished exchange, as the access log wants it. */
function toAccessRecord(r: ResponseRecord): AccessRecord {
  return {
    remoteAddress: r.remoteAddress,
    method: r.method,
    target: r.target,
    protocol: r.httpVersion === "-" ? "-" : `HTTP/${r.httpVersion}`,
    status: r.status,
    bytes: r.bytesSent,
    durationMs: r.durationMs,
    time: Date.now(),
    requestHeader: (name) => headerValue(r.requestHeaders, name),
    responseHeader: (name) => headerValue(r.responseHeaders, name),
  };
}
