/**
 * @module
 * Responses Bun.serve is still sending whose end JavaScript is not told: a file, a Blob, a
 * stream or no body, handed to Bun without an access line to write. Bun.serve's one timer per
 * connection (`idleTimeout`) also runs while a body is written, and writes do not reset it, so
 * a long stream would be cut (reuse-port-fetch.ts). Telling a stream from a file costs
 * `Bun.inspect(res)` (10-20 µs: src/http/blob-body.ts), and wrapping a stream to see its end
 * costs a JavaScript pull per chunk; neither is needed to keep the timer off:
 *
 * - {@link PendingResponses.add} re-arms the timer for longer than the keep-alive time
 *   ({@link pendingTimeout}) and notes the request;
 * - once a second, each noted request still in progress is re-armed again; one whose response
 *   is done is dropped. Bun 1.4.4 tells which: `server.requestIP(req)` is null once the
 *   response has gone out (and the client may have sent its next request), the address while it
 *   is being sent (measured over HTTP/1.1 and HTTP/2, for in-memory, file and streamed bodies).
 *   `server.timeout(req, s)` after that point changes nothing, so a finished response is never
 *   re-armed, and the connection's next request re-arms the timer itself.
 *
 * An idle connection after such a response is closed when the last re-arm runs out: no sooner
 * than `keepalive` after the response ended (it was re-armed at most a second before the end,
 * for at least `keepalive` + 1 s), and within the documented slack of 8 s after `keepalive`
 * (`keepalive` + 1 rounded up to a multiple of 4, plus 4). (After a file, Bun also re-arms the
 * timer itself, with `idleTimeout`.)
 */
import type { Server } from "bun";

/** How often the requests in progress are re-armed, in ms (below uSockets' 4 s tick). */
const SWEEP_MS = 1000;

/**
 * The `server.timeout` seconds for a response in progress: a whole number of uSockets' 4 s
 * ticks that never runs out before the next sweep, and never sooner than `keepalive` after the
 * response ends (see the module comment; Bun caps the timer at 255 s).
 */
export function pendingTimeout(keepalive: number): number {
  const ticks = Math.ceil((Math.max(0, keepalive) + SWEEP_MS / 1000) / 4) + 1;
  return Math.min(252, ticks * 4);
}

/** A worker's (or gthread thread's) responses in progress on its Bun.serve servers. */
export class PendingResponses {
  private readonly requests = new Map<Request, Server<unknown>>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly seconds: number) {}

  /** `req`'s response goes to Bun now: keep its connection's timer off until it has gone out. */
  add(req: Request, server: Server<unknown>): void {
    server.timeout(req, this.seconds);
    this.requests.set(req, server);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
  }

  /** How many responses are noted (tests). */
  get size(): number {
    return this.requests.size;
  }

  private sweep(): void {
    if (this.requests.size === 0) {
      // Stopped after a second with nothing in progress; the next add starts it again.
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    for (const [req, server] of this.requests) {
      try {
        if (server.requestIP(req) === null) this.requests.delete(req);
        else server.timeout(req, this.seconds);
      } catch {
        // The server has stopped.
        this.requests.delete(req);
      }
    }
  }
}

const pendings = new WeakMap<object, PendingResponses>();

/** The worker's notes, one per settings object (so `fetch` and every route handler share them). */
export function pendingResponses(cfg: { readonly keepalive: number }): PendingResponses {
  let p = pendings.get(cfg);
  if (p === undefined) pendings.set(cfg, (p = new PendingResponses(pendingTimeout(cfg.keepalive))));
  return p;
}
