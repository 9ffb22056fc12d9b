/**
 * @module
 * Reuse-port mode's serving: one `Bun.serve({reusePort: true})` per listener (Bun's native
 * parser), its request wrapper around `Worker.handle` (keep-alive idle time, `--keep-alive 0`,
 * `--no-sendfile`) and its options (TLS, websocket).
 */
import type { Server } from "bun";
import type { Worker } from "./base.ts";
import type { ListenerSpec } from "./protocol.ts";

/** Serves `listener` (a reuse-port one) with Bun.serve; `noSendfile` maps every response when `--no-sendfile`. */
export function serveReusePort(worker: Worker, listener: ListenerSpec & { mode: "reuse-port" }, noSendfile: ((res: Response) => Response) | null): Server<unknown> {
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
  return Bun.serve({
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
    ...(worker.app.websocket ? { websocket: worker.app.websocket as never } : {}),
    ...(tlsOptions(cfg) ?? {}),
  });
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

/** Bun TLS options from the SSL settings, or null when no certificate is configured. */
export function tlsOptions(cfg: Worker["cfg"]): { tls: Record<string, unknown> } | null {
  if (!cfg.certfile || !cfg.keyfile) return null;
  const tls: Record<string, unknown> = { cert: Bun.file(cfg.certfile), key: Bun.file(cfg.keyfile) };
  if (cfg.ca_certs) tls.ca = Bun.file(cfg.ca_certs);
  if (cfg.cert_reqs > 0) {
    tls.requestCert = true;
    tls.rejectUnauthorized = cfg.cert_reqs === 2;
  }
  if (cfg.ciphers) tls.ciphers = cfg.ciphers;
  return { tls };
}
