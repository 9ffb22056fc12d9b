/**
 * @module
 * Reuse-port mode's serving: one `Bun.serve({reusePort: true})` per listener (Bun's native
 * parser), its request wrapper around `Worker.handle` (keep-alive idle time, `--keep-alive 0`,
 * `--no-sendfile`) and its options (TLS, websocket).
 */
import type { Server } from "bun";
import type { Worker } from "./base.ts";
import { serveProtocolOptions } from "./http-protocols.ts";
import type { ListenerSpec } from "./protocol.ts";
import { reusePortWebSocket } from "./reuse-port-websocket.ts";
import type { TlsOptions } from "./tls-options.ts";

/**
 * Serves `listener` (a reuse-port one) with Bun.serve; `noSendfile` maps every response when
 * `--no-sendfile`; `tls` (from src/workers/tls-options.ts) makes it HTTPS.
 */
export function serveReusePort(worker: Worker, listener: ListenerSpec & { mode: "reuse-port" }, noSendfile: ((res: Response) => Response) | null, tls: TlsOptions | null = null): Server<unknown> {
  const cfg = worker.cfg;
  const keepalive = cfg.keepalive;
  const handle = (req: Request, server: Server<unknown>) => {
    // Bun's idleTimeout also cuts slow in-flight handlers: lift it while the app runs,
    // and restore the keep-alive idle time once the response is ready.
    if (keepalive > 0) {
      server.timeout(req, 0);
      const res = worker.handle(req, server);
      if (res instanceof Response) {
        server.timeout(req, idle);
        return res;
      }
      return res.then((r) => {
        server.timeout(req, idle);
        return r;
      });
    }
    const res = worker.handle(req, server);
    return res instanceof Response ? withClose(res) : res.then(withClose);
  };
  const idle = Math.min(255, Math.max(1, Math.ceil(keepalive)));
  const fetch = noSendfile === null ? handle : mapResponse(handle, noSendfile);
  // The app's `websocket` handlers: upgrades marked for the 101 access line, gthread relays (reuse-port-websocket.ts).
  const ws = reusePortWebSocket(worker, listener);
  const server = Bun.serve({
    hostname: listener.host,
    port: listener.port,
    reusePort: true,
    development: false,
    idleTimeout: idle,
    fetch,
    error: (e) => {
      worker.log.error("Error handling request: %s", e instanceof Error ? (e.stack ?? e.message) : String(e));
      return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain" } });
    },
    ...(ws !== null ? { websocket: ws.handlers as never } : {}),
    ...(tls !== null ? { tls } : {}),
    // `http_protocols`: HTTP/2 and HTTP/3 (src/workers/http-protocols.ts).
    ...serveProtocolOptions(cfg.http_protocols),
  });
  ws?.attach(server);
  return server;
}

/** `fetch` with `map` applied to each of its responses. */
function mapResponse<A extends unknown[]>(fetch: (...a: A) => Response | Promise<Response>, map: (res: Response) => Response): (...a: A) => Response | Promise<Response> {
  return (...a) => {
    const res = fetch(...a);
    return res instanceof Response ? map(res) : res.then(map);
  };
}

function withClose(res: Response): Response {
  res.headers.set("connection", "close");
  return res;
}
