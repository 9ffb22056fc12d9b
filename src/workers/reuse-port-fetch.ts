/**
 * @module
 * Reuse-port mode's `fetch` around `Worker.handle`, and the keep-alive idle time it gives
 * Bun.serve.
 *
 * Bun.serve has one per-connection timer, `idleTimeout`, and it also runs while a handler works
 * and while a body is being sent (Bun 1.4.4 sets it again when a request arrives and on each
 * write, so only a pause longer than the timer cuts). So, measured per request
 * (docs/design.md, "The reuse-port hot path"):
 *
 * - an app that answers at once (a Response, no promise) leaves the timer as the request's
 *   arrival set it: an in-memory body goes out at once, and anything else (a file, a Blob, a
 *   stream) is noted for reuse-port-pending.ts, which re-arms the timer once a second until Bun
 *   has sent it, without having to tell a stream from a file;
 * - an app that returns a promise lifts the timer (`server.timeout(req, 0)`) until its Response
 *   exists, then the same; with an access line to write, the body's kind is told as before
 *   (src/workers/bun-serve-response.ts: a stream is counted, and the timer is off until it ends).
 *
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
import { IN_MEMORY_DETECTION, inMemoryBody } from "../http/blob-body.ts";
import type { Worker } from "./base.ts";
import { bodyWatcher } from "./body-watch.ts";
import { sendResponse } from "./bun-serve-response.ts";
import { reusePortChecks, type Head } from "./reuse-port-checks.ts";
import { reusePortForwarding } from "./reuse-port-forwarding.ts";
import { pendingResponses } from "./reuse-port-pending.ts";
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
  // What is decided once (docs/design.md, "The reuse-port hot path"): the idle timer is lifted only
  // for an app that answers with a promise, and a response of unknown kind without an access line
  // is noted for the sweep of reuse-port-pending.ts; not under HTTP/3, where that is not measured.
  const protocols = worker.cfg.http_protocols ?? ["h1"];
  const pending = protocols.includes("h3") ? null : pendingResponses(worker.cfg);
  const liftAtArrival = pending === null;
  // Over HTTP/1.x a request without Content-Length or Transfer-Encoding has no body to watch.
  const framedBodies = !protocols.includes("h2") && !protocols.includes("h3");
  const send = (req: Request, server: Server<unknown>, res: Response, start: number, lifted: boolean): Response => {
    // A WebSocket upgrade: Bun sent the 101 and ignores the Response (src/workers/websocket-upgrade.ts).
    if (res === UPGRADED) {
      if (start >= 0) log.access(upgradeRecord(req, performance.now() - start));
      return res;
    }
    if (noSendfile !== null) res = noSendfile(res);
    // --keep-alive 0, or a graceful stop draining the connections (reuse-port-drain.ts).
    if (close || !worker.alive) res.headers.set("connection", "close");
    if (start < 0 && pending !== null) {
      // No access line: the body's kind matters only to the idle timer. An in-memory body goes out
      // at once (the timer, if lifted, is set again now); anything else is kept from being cut
      // until Bun has sent it, without telling a file from a stream (reuse-port-pending.ts).
      if (IN_MEMORY_DETECTION && inMemoryBody(res)) {
        if (lifted) server.timeout(req, idle);
      } else {
        // Bun sends `Bun.file(p).slice(a, b)` as a 206 `bytes a-b/*` while the Response's headers
        // were never made; made, it is a 200 with the slice's bytes, as in the engine (design.md).
        void res.headers;
        pending.add(req, server, res);
      }
      return res;
    }
    return sendResponse(log, req, server, res, start, idle, lifted);
  };
  return (req, server) => {
    if (liftAtArrival) server.timeout(req, 0);
    const start = log.wantsRecords ? performance.now() : -1;
    // The head as Bun parsed it, read once for the checks below (one native call for every name and value).
    const h = req.headers;
    const head = h.toJSON() as Head;
    // body_timeout / body_min_rate: a request with a body is read through a watch (body-watch.ts).
    const watch =
      bodies === null || (framedBodies && head["content-length"] === undefined && head["transfer-encoding"] === undefined) ? null : bodies.watch(req, server);
    // What Bun's parser lets through and the engine refuses (Host, limits: reuse-port-checks.ts), then
    // trusted proxies' scheme headers and header_map (reuse-port-forwarding.ts): a 400, or on to the app.
    const res = checks(req, server, h, head) ?? forwarding(req, server, h, head) ?? worker.handle(req, server, false, handler);
    if (res instanceof Response) {
      // Answered before this returns: Bun set the connection's timer when the request arrived.
      if (watch !== null) return watch.settle(res, (r) => send(req, server, r, start, liftAtArrival));
      return send(req, server, res, start, liftAtArrival);
    }
    // The app works on: a slow handler must not be cut, so the timer is off until its body is out.
    if (!liftAtArrival) server.timeout(req, 0);
    if (watch !== null) return watch.settle(res, (r) => send(req, server, r, start, true));
    return res.then((r) => send(req, server, r, start, true));
  };
}
