/**
 * @module
 * `body_timeout` and `body_min_rate` under Bun.serve (reuse-port mode): the rule is the engine's
 * (src/http/body-timeout.ts); this is how it is applied where Bun reads the request body.
 *
 * Bun.serve has one timer per connection, and reuse-port-fetch.ts lifts it while the app runs,
 * so that slow handlers are never cut; Bun reads a request body as the app reads it and tells
 * JavaScript nothing else. So a request with a body is *watched*: its prototype becomes one whose
 * `body`, `arrayBuffer()`, `bytes()`, `text()`, `json()`, `blob()` and `formData()` read Bun's
 * body stream through a counting stream (`bodyUsed`, `clone()`, `headers` and the rest stay
 * Bun's). Only a pending read counts as waiting: from the app's read (the stream's `pull`) until
 * Bun hands over the next chunk. One interval per worker (running only while some body is
 * awaited) checks the awaited bodies every second; one past its deadline is *cut*:
 *
 * - the app's read fails with `RequestTimeout` (the engine's error), and Bun's stream is cancelled;
 * - whatever the app then answers is replaced by a plain `408` with `Connection: close`, which
 *   Bun sends and then closes the connection (measured on Bun 1.4.4: even with the body unread);
 * - `server.timeout(req, 1)` re-arms Bun's timer, so an app that holds on after its read failed
 *   is cut on Bun's next 4-second tick.
 *
 * A GET pays one native getter call (`body` is null: nothing is allocated). A request with a body
 * pays a prototype switch and its watch (about 0.2 µs), and its body goes through a JavaScript
 * stream. Not watched: a copy the app makes with `req.clone()` or `new Request(req)` (Bun copies
 * its native body), and a body the app reads through `Request.prototype` directly.
 */
import type { Server } from "bun";
import type { Settings } from "../config/registry.ts";
import { BodyClock, bodyPolicy, bodyTimedOut, type BodyPolicy } from "../http/body-timeout.ts";

const nativeBody = Object.getOwnPropertyDescriptor(Request.prototype, "body")!.get! as (this: Request) => ReadableStream<Uint8Array> | null;
const nativeBodyUsed = Object.getOwnPropertyDescriptor(Request.prototype, "bodyUsed")!.get! as (this: Request) => boolean;
const WATCH = Symbol("bunicorn.bodyWatch");

type Watched = Request & { [WATCH]: BodyWatch };
/** What is used of Bun's body stream's reader. */
interface Reader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}
type ReadResult = Awaited<ReturnType<Reader["read"]>>;
type BodyRead = "arrayBuffer" | "bytes" | "text" | "json" | "blob" | "formData";

/** The plain 408 a cut request gets, whatever its app answered. */
function requestTimeout(): Response {
  return new Response("Request Timeout\n", { status: 408, headers: { "content-type": "text/plain", connection: "close" } });
}

/** What a watched request's prototype adds to its own: the body read through its watch. */
const WATCHED_BODY: PropertyDescriptorMap = {
  body: {
    get(this: Watched) {
      return this[WATCH].stream();
    },
    configurable: true,
  },
  bodyUsed: {
    get(this: Watched) {
      return this[WATCH].used || nativeBodyUsed.call(this);
    },
    configurable: true,
  },
  ...Object.fromEntries(
    (["arrayBuffer", "bytes", "text", "json", "blob", "formData"] as const).map((kind) => [
      kind,
      {
        value(this: Watched) {
          return this[WATCH].read(kind);
        },
        writable: true,
        configurable: true,
      },
    ]),
  ),
};

/**
 * A watched request's prototype, one per prototype Bun gives requests: `Request.prototype`, and
 * the route request's (`req.params`, `req.cookies`) under Bun routes.
 */
const watchedProtos = new Map<object, object>();
function watchedProto(proto: object): object {
  let p = watchedProtos.get(proto);
  if (p === undefined) watchedProtos.set(proto, (p = Object.create(proto, WATCHED_BODY) as object));
  return p;
}

/** One request's body, read through a counting stream and timed by its clock. */
export class BodyWatch {
  readonly clock: BodyClock;
  /** Whether the app has started reading the body. */
  used = false;
  /** Cut: the app's read failed, and the client gets a 408. */
  timedOut = false;
  private received = 0;
  private wrapped: ReadableStream<Uint8Array> | null = null;
  private ctl: ReadableStreamDefaultController<Uint8Array> | null = null;
  private reader: Reader | null = null;

  constructor(
    private readonly watcher: BodyWatcher,
    private readonly req: Request,
    private readonly server: Server<unknown>,
  ) {
    this.clock = new BodyClock(watcher.policy);
  }

  /** The app's body stream (the same one every time). */
  stream(): ReadableStream<Uint8Array> {
    return (this.wrapped ??= new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.ctl = c;
        },
        pull: (c) => this.pull(c),
        cancel: (reason) => {
          this.ctl = null;
          this.watcher.waitEnded(this);
          return this.reader?.cancel(reason);
        },
      },
      // Nothing is read ahead of the app: a pull is the app waiting.
      { highWaterMark: 0 },
    ));
  }

  /** `arrayBuffer()`, `json()`...: Bun's own readers, over the counting stream. */
  read(kind: BodyRead): Promise<unknown> {
    try {
      const ct = kind === "blob" || kind === "formData" ? this.req.headers.get("content-type") : null;
      this.used = true;
      const init = ct !== null ? { headers: { "content-type": ct } } : undefined;
      const res = new Response(this.stream(), init);
      // Bun 1.4.4 gives a stream's Blob no type: the bytes are typed afterwards, as the native Blob is.
      if (kind === "blob") return res.arrayBuffer().then((b) => new Response(b, init).blob());
      return res[kind]();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    this.used = true;
    // Bun's stream, taken at the first read (after a clone() it is the original's half).
    const reader = (this.reader ??= nativeBody.call(this.req)!.getReader() as unknown as Reader);
    this.clock.update(performance.now(), this.received, true);
    this.watcher.waitStarted(this);
    let r: ReadResult | null = null;
    let failure: unknown = null;
    try {
      r = await reader.read();
    } catch (e) {
      failure = e ?? new Error("request body read failed");
    }
    this.watcher.waitEnded(this);
    if (r !== null && !r.done) this.received += r.value.byteLength;
    this.clock.update(performance.now(), this.received, false);
    // Cut meanwhile: the app's stream has failed already.
    if (this.timedOut) return;
    if (failure !== null) throw failure;
    if (r!.done) c.close();
    else c.enqueue(r!.value);
  }

  /** Past its deadline: the app's read fails, Bun's stream is dropped, and Bun's timer re-armed. */
  cut(): void {
    this.timedOut = true;
    const err = bodyTimedOut();
    const c = this.ctl;
    this.ctl = null;
    try {
      c?.error(err);
    } catch {
      /* closed already */
    }
    this.reader?.cancel(err).catch(() => {});
    try {
      this.server.timeout(this.req, 1);
    } catch {
      /* the request is gone */
    }
  }

  /** The app's answer, or the 408 once cut; `send` sends it (reuse-port-fetch.ts). */
  settle(res: Response | Promise<Response>, send: (res: Response) => Response): Response | Promise<Response> {
    if (res instanceof Response) return send(this.timedOut ? requestTimeout() : res);
    return res.then((r) => send(this.timedOut ? requestTimeout() : r));
  }
}

/** A worker's (or gthread thread's) watches of awaited bodies, checked once a second. */
export class BodyWatcher {
  private readonly waiting = new Set<BodyWatch>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly policy: BodyPolicy) {}

  /** Watches `req`'s body; null (and nothing allocated) for a request without one. */
  watch(req: Request, server: Server<unknown>): BodyWatch | null {
    if (nativeBody.call(req) === null) return null;
    const w = new BodyWatch(this, req, server);
    (req as Watched)[WATCH] = w;
    Object.setPrototypeOf(req, watchedProto(Object.getPrototypeOf(req)));
    return w;
  }

  waitStarted(w: BodyWatch): void {
    this.waiting.add(w);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), 1000);
      this.timer.unref();
    }
  }

  waitEnded(w: BodyWatch): void {
    this.waiting.delete(w);
  }

  private sweep(): void {
    if (this.waiting.size === 0) {
      // Stopped after a second with no body awaited; the next wait starts it again.
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    const now = performance.now();
    for (const w of this.waiting) {
      if (now >= w.clock.deadline()) {
        this.waiting.delete(w);
        w.cut();
      }
    }
  }
}

const watchers = new WeakMap<object, BodyWatcher | null>();

/**
 * The watcher for a worker's settings (one per settings object, so `fetch` and every route
 * handler share it), or null when `body_timeout` and `body_min_rate` are both 0.
 */
export function bodyWatcher(cfg: Readonly<Settings>): BodyWatcher | null {
  let w = watchers.get(cfg);
  if (w === undefined) {
    const policy = bodyPolicy(cfg.body_timeout, cfg.body_min_rate);
    w = policy === null ? null : new BodyWatcher(policy);
    watchers.set(cfg, w);
  }
  return w;
}
