/**
 * @module
 * Reuse-port mode's `fetch` around `Worker.handle`, and the keep-alive idle time it gives
 * Bun.serve.
 *
 * Bun.serve has one per-connection timer, `idleTimeout`, and it also runs while a handler works
 * and while a streamed body is being sent. So the timer is lifted (`server.timeout(req, 0)`) when
 * a request arrives and set again only once the response's body has gone out: at once for a body
 * Bun writes itself, when the stream ends for a streamed one (src/workers/bun-serve-response.ts).
 * A slow handler or a long stream is never cut, with `--keep-alive 0` as well.
 *
 * The timer's unit: uSockets checks timeouts on a 4-second tick, and a timeout of `s` seconds
 * fires on the `(s + 3) >> 2`-th tick after it was set, i.e. anywhere from `4 * (ticks - 1)` to
 * `4 * ticks` seconds later (measured on Bun 1.4.4: `idleTimeout` 1, 2 and 4 all close an idle
 * connection after 0-4 s, 5 and 8 after 4-8 s). With one tick, a connection busy with a request
 * every 0.7 s is cut whenever a tick falls between two requests. {@link bunIdleTimeout} therefore
 * asks for one tick more than `keepalive` needs: a connection is never closed before it has been
 * idle for `keepalive` seconds, and is closed at most 8 s after that (`keepalive` rounded up to a
 * multiple of 4, plus 4: 4-8 s for the default 2).
 */
import type { Server } from "bun";
import type { Worker } from "./base.ts";
import { bodyWatcher } from "./body-watch.ts";
import { sendResponse } from "./bun-serve-response.ts";
import { reusePortChecks } from "./reuse-port-checks.ts";
import { reusePortForwarding } from "./reuse-port-forwarding.ts";
import { upgradeRecord, UPGRADED } from "./websocket-upgrade.ts";

/** uSockets' timeout tick, in seconds. */
const TICK = 4;

/** The `idleTimeout` (and `server.timeout`) for `keepalive` seconds: see the module comment. */
export function bunIdleTimeout(keepalive: number): number {
  const ticks = keepalive > 0 ? Math.ceil(keepalive / TICK) + 1 : 1;
  return Math.min(255, ticks * TICK);
}

/**
 * The Bun.serve `fetch` of a reuse-port worker: `worker.handle` with the idle timer lifted while
 * the app runs and its body goes out, `Connection: close` with `--keep-alive 0`, `noSendfile`
 * applied, and the access line written once the body has gone out.
 */
export function reusePortFetch(
  worker: Worker,
  noSendfile: ((res: Response) => Response) | null,
  /** A Bun route's handler, run instead of the app's `fetch` (src/app/routes.ts `forBunServe`). */
  handler?: (req: Request, server: unknown) => Response | Promise<Response>,
): (req: Request, server: Server<unknown>) => Response | Promise<Response> {
  const idle = bunIdleTimeout(worker.cfg.keepalive);
  const close = !(worker.cfg.keepalive > 0);
  const log = worker.log;
  const forwarding = reusePortForwarding(worker.cfg);
  const checks = reusePortChecks(worker.cfg);
  const bodies = bodyWatcher(worker.cfg);
  const send = (req: Request, server: Server<unknown>, res: Response, start: number): Response => {
    // A WebSocket upgrade: Bun sent the 101 and ignores the Response (src/workers/websocket-upgrade.ts).
    if (res === UPGRADED) {
      if (start >= 0) log.access(upgradeRecord(req, performance.now() - start));
      return res;
    }
    if (noSendfile !== null) res = noSendfile(res);
    // --keep-alive 0, or a graceful stop draining the connections (reuse-port-drain.ts).
    if (close || !worker.alive) res.headers.set("connection", "close");
    return sendResponse(log, req, server, res, start, idle);
  };
  return (req, server) => {
    server.timeout(req, 0);
    const start = log.wantsRecords ? performance.now() : -1;
    // body_timeout / body_min_rate: a request with a body is read through a watch (body-watch.ts).
    const watch = bodies === null ? null : bodies.watch(req, server);
    // What Bun's parser lets through and the engine refuses (Host, limits: reuse-port-checks.ts), then
    // trusted proxies' scheme headers and header_map (reuse-port-forwarding.ts): a 400, or on to the app.
    const res = checks(req, server) ?? forwarding(req, server) ?? worker.handle(req, server, false, handler);
    if (watch !== null) return watch.settle(res, (r) => send(req, server, r, start));
    return res instanceof Response ? send(req, server, res, start) : res.then((r) => send(req, server, r, start));
  };
}
