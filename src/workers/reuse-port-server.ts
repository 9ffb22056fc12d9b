/**
 * @module
 * Reuse-port mode's serving: one `Bun.serve({reusePort: true})` per listener (Bun's native
 * parser), its request wrapper around `Worker.handle` (keep-alive idle time, `--keep-alive 0`,
 * `--no-sendfile`) and its options (TLS, websocket).
 */
import type { Server } from "bun";
import type { Worker } from "./base.ts";
import { SERVER_ERROR_BODY } from "./bun-serve-response.ts";
import { logServeError } from "./client-error.ts";
import { serveProtocolOptions } from "./http-protocols.ts";
import type { ListenerSpec } from "./protocol.ts";
import { bunIdleTimeout, reusePortFetch } from "./reuse-port-fetch.ts";
import { attachReusePortForwarding } from "./reuse-port-forwarding.ts";
import { reusePortWebSocket } from "./reuse-port-websocket.ts";
import type { TlsOptions } from "./tls-options.ts";

/**
 * Serves `listener` (a reuse-port one) with Bun.serve; `noSendfile` maps every response when
 * `--no-sendfile`; `tls` (from src/workers/tls-options.ts) makes it HTTPS.
 */
export function serveReusePort(worker: Worker, listener: ListenerSpec & { mode: "reuse-port" }, noSendfile: ((res: Response) => Response) | null, tls: TlsOptions | null = null): Server<unknown> {
  const cfg = worker.cfg;
  // The request wrapper (idle timer, access line once the body is out) is in reuse-port-fetch.ts.
  const fetch = reusePortFetch(worker, noSendfile);
  // The app's `websocket` handlers: upgrades marked for the 101 access line, gthread relays (reuse-port-websocket.ts).
  const ws = reusePortWebSocket(worker, listener);
  const server = Bun.serve({
    hostname: listener.host,
    port: listener.port,
    reusePort: true,
    development: false,
    idleTimeout: bunIdleTimeout(cfg.keepalive),
    // limit_request_body: Bun's 0 would refuse every body, so "no limit" is Infinity.
    maxRequestBodySize: cfg.limit_request_body > 0 ? cfg.limit_request_body : Infinity,
    fetch,
    error: (e) => {
      logServeError(worker.log, e);
      return new Response(SERVER_ERROR_BODY, { status: 500, headers: { "content-type": "text/plain" } });
    },
    ...(ws !== null ? { websocket: ws.handlers as never } : {}),
    // Bun `routes`: Bun.serve routes, each handler runs through the same wrapper as `fetch`.
    ...(worker.app.routes ? { routes: worker.app.routes.forBunServe((call) => reusePortFetch(worker, noSendfile, call)) as never } : {}),
    ...(tls !== null ? { tls } : {}),
    // `http_protocols`: HTTP/2 and HTTP/3 (src/workers/http-protocols.ts).
    ...serveProtocolOptions(cfg.http_protocols),
  });
  ws?.attach(server);
  // What the app's helpers (src/forwarded.ts) ask: whether a request came from a trusted forwarder.
  attachReusePortForwarding(server, cfg);
  return server;
}
