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
 *   re-armed, and the connection's next request re-arms the timer itself;
 * - only a stream is kept that way: the first sweep that finds a response still going out asks
 *   `Bun.inspect` once whether a stream feeds it (a few tens of µs, for responses that last over
 *   a second only). A file or a Blob is dropped then: Bun's writes set the timer again while the
 *   client reads, so only a client that stopped reading is cut, 4-8 s later, as before this
 *   sweep existed (a stream that stalls waits, as the app may pause it).
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

/** How `Bun.inspect` ends for a Response whose body Bun took natively (a file, a Blob, a Blob's stream, a `fetch()` body). */
const NATIVE_BODY_END = "bodyUsed: true\n}";

/**
 * Whether the body of `res`, which Bun is sending, is a stream that JavaScript (or a process's
 * pipe) feeds, so that it may pause for longer than the idle timer: `Bun.inspect` shows its
 * `ReadableStream` then (measured on Bun 1.4.4, after the handoff: a JavaScript stream and a
 * `Bun.spawn` stdout show it; a file, a Blob and a Blob's stream show `bodyUsed: true` and no
 * body). Anything else is taken for a stream too: never cut is the safe side.
 */
function fedByStream(res: Response): boolean {
  return !Bun.inspect(res, { depth: 0 }).endsWith(NATIVE_BODY_END);
}

interface Pending {
  server: Server<unknown>;
  res: Response;
  /** Known to be a stream (re-armed until it ends); false until the first sweep that finds it in progress tells. */
  stream: boolean;
}

/** A worker's (or gthread thread's) responses in progress on its Bun.serve servers. */
export class PendingResponses {
  private readonly requests = new Map<Request, Pending>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly seconds: number) {}

  /** `req`'s response `res` goes to Bun now: keep its connection's timer off until it has gone out. */
  add(req: Request, server: Server<unknown>, res: Response): void {
    server.timeout(req, this.seconds);
    // A `fetch()` Response's body is a stream however Bun shows it (it has a url).
    this.requests.set(req, { server, res, stream: res.url !== "" });
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
    for (const [req, p] of this.requests) {
      try {
        if (p.server.requestIP(req) === null) this.requests.delete(req);
        else if (p.stream || (p.stream = fedByStream(p.res))) p.server.timeout(req, this.seconds);
        // A file or a Blob still going out after a second: Bun's writes set the timer again as the
        // client reads, so it is left to it, and a client that stopped reading is cut, as before.
        else this.requests.delete(req);
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
