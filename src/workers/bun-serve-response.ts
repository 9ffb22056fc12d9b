/**
 * @module
 * The app's `Response` on its way out through Bun.serve (reuse-port workers, gthread threads in
 * reuse-port mode, and plugin worker classes calling `Worker.handle`), and its access record.
 *
 * Bun.serve writes the response itself and tells JavaScript nothing about it, so:
 *
 * - the body's kind is told without consuming it ({@link bodyOf}): an in-memory body by JSC's
 *   shallow size (a few ns), anything else by its `content-type` and `res.body`, or
 *   `Bun.inspect` (src/http/blob-body.ts) when it may be a file;
 * - a streamed body is passed through a counting stream ({@link sendResponse}), so its bytes are
 *   known and the access line, the duration and the keep-alive idle time wait for its end;
 * - for everything else the record mirrors what Bun.serve 1.4.4 decides on its own (measured):
 *   no body for HEAD, 1xx, 204 and 304; for a file, Range on a 200 to GET for a whole file (206
 *   or 416), and a 500 from the `error` handler for a missing file or a directory. (Bun answers a
 *   slice of a file with 206 `bytes A-B/*` only while the Response's headers were never read
 *   from JavaScript; telling the body's kind reads them, so a slice goes out as a 200, as the
 *   engine sends it.)
 */
import { fstatSync, statSync, type Stats } from "node:fs";
import { BLOB_BODY_DETECTION, bodyShapeOf, IN_MEMORY_DETECTION, inMemoryBody, wholeFile, type BodyShape } from "../http/blob-body.ts";
import { resolveRange } from "../http/range.ts";
import type { AccessRecord } from "../log/access-format.ts";

/** The body of the 500 that the `error` handler of bunicorn's Bun.serve sends. */
export const SERVER_ERROR_BODY = "Internal Server Error";
const SERVER_ERROR_BYTES = SERVER_ERROR_BODY.length;

/**
 * What a Response body is: `memory` (bytes or a string held by the Response), `none`, `blob`
 * (an in-memory Blob), `file` (`Bun.file`, maybe a slice: by path, `fd` -1, or by fd), `stream`,
 * or `used` (already read: Bun answers 500).
 */
export type Body = BodyShape | { kind: "memory" | "used" };
const MEMORY: Body = { kind: "memory" };
const USED: Body = { kind: "used" };
const NONE: Body = { kind: "none" };
const STREAM: Body = { kind: "stream" };

/** Where the access log goes: a `Logger`, or a gthread thread's access-only log. */
export interface AccessSink {
  readonly wantsRecords: boolean;
  access(record: AccessRecord): void;
}

/** What `res`'s body is, without consuming it: a few ns for an in-memory body, 0.3-11 µs otherwise. */
export function bodyOf(res: Response): Body {
  if (IN_MEMORY_DETECTION && inMemoryBody(res)) return MEMORY;
  if (res.bodyUsed) return USED;
  // Bun gives every Blob with a type and every file a content-type; without one, `res.body`
  // is safe to read (a typeless Blob becomes a stream, sent the same).
  if (!BLOB_BODY_DETECTION || !res.headers.has("content-type")) return res.body === null ? NONE : STREAM;
  const shape = bodyShapeOf(res);
  // `Bun.inspect` shows no body for a `fetch()` Response whose body is still arriving either.
  return shape.kind === "none" && res.body !== null ? STREAM : shape;
}

/** Statuses whose responses have no body (Bun.serve sends none, whatever the Response holds). */
function bodyless(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/**
 * Hands `res` to Bun.serve: once its body has gone out (at once, or when a streamed body ends),
 * `server.timeout(req, idle)` restores the keep-alive idle time (when `idle >= 0`; reuse-port
 * workers lift it while an app that returned a promise runs: `lifted`, else Bun's timer still
 * runs from the request's arrival and is only lifted here for a stream) and, when `start >= 0`,
 * the access line is written with the duration since `start`. Returns the Response to send:
 * `res`, or for a stream a Response with the same head and a counting stream in front of its body.
 */
export function sendResponse(log: AccessSink, req: Request, server: unknown, res: Response, start: number, idle: number, lifted = true): Response {
  const body = bodyOf(res);
  if (body.kind === "stream" && req.method !== "HEAD" && !bodyless(res.status)) {
    if (idle >= 0 && !lifted) (server as TimeoutServer).timeout(req, 0);
    return countedResponse(res, (bytes, complete) => {
      if (complete && idle >= 0) (server as TimeoutServer).timeout(req, idle);
      if (start >= 0) log.access(new BunServeRecord(req, server, res, performance.now() - start, body, bytes));
    });
  }
  if (idle >= 0 && lifted) (server as TimeoutServer).timeout(req, idle);
  if (start >= 0) log.access(new BunServeRecord(req, server, res, performance.now() - start, body, 0));
  return res;
}

interface TimeoutServer {
  timeout(req: Request, seconds: number): void;
}

/**
 * `res` with its body read through a stream that counts the bytes; `onEnd(bytes, complete)` runs
 * once: when the body ended (complete), failed, or the client went away (Bun cancels the stream).
 */
function countedResponse(res: Response, onEnd: (bytes: number, complete: boolean) => void): Response {
  const reader = (res.body as ReadableStream<Uint8Array | string>).getReader();
  let bytes = 0;
  let ended = false;
  const end = (complete: boolean): void => {
    if (ended) return;
    ended = true;
    onEnd(bytes, complete);
  };
  const counted = new ReadableStream<Uint8Array | string>(
    {
      async pull(ctl) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          end(false);
          throw e;
        }
        if (chunk.done) {
          end(true);
          ctl.close();
          return;
        }
        const v = chunk.value;
        bytes += typeof v === "string" ? Buffer.byteLength(v) : ((v as { byteLength?: number } | null)?.byteLength ?? 0);
        ctl.enqueue(v);
      },
      cancel(reason) {
        end(false);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(counted as ReadableStream, { status: res.status, statusText: res.statusText, headers: res.headers });
}

function safePath(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? url : url.slice(i);
}

/** What went on the wire: the status and the body bytes (null when unknown). */
interface Outcome {
  status: number;
  bytes: number | null;
}

/**
 * The access record of a Bun.serve request. Fields are computed on use (prototype getters, no
 * per-request closures): a format without `%(h)s` never pays for `requestIP`, one without
 * `%(s)s`/`%(b)s` never looks at the body. Read it before the Response goes to Bun (loggers
 * format at once): sizing a body clones it.
 */
export class BunServeRecord implements AccessRecord {
  readonly protocol = "HTTP/1.1";
  readonly time = Date.now();
  private outcome: Outcome | null = null;
  constructor(
    private readonly req: Request,
    private readonly server: unknown,
    private readonly res: Response,
    readonly durationMs: number,
    private readonly body: Body,
    /** Bytes counted from a streamed body. */
    private readonly streamed: number,
  ) {}
  get remoteAddress(): string {
    const ip = (this.server as { requestIP?: (r: Request) => { address: string } | null }).requestIP?.(this.req);
    return ip?.address ?? "";
  }
  get method(): string {
    return this.req.method;
  }
  get target(): string {
    return safePath(this.req.url);
  }
  get status(): number {
    return (this.outcome ??= this.decide()).status;
  }
  get bytes(): number | null {
    return (this.outcome ??= this.decide()).bytes;
  }
  requestHeader(name: string): string | null {
    return this.req.headers.get(name);
  }
  responseHeader(name: string): string | null {
    return this.res.headers.get(name);
  }

  private decide(): Outcome {
    const res = this.res;
    const status = res.status;
    const head = this.req.method === "HEAD";
    try {
      const body = this.body;
      switch (body.kind) {
        case "used":
          return { status: 500, bytes: SERVER_ERROR_BYTES };
        case "file":
          return head ? { status, bytes: 0 } : this.fileOutcome(body);
        case "stream":
          return { status, bytes: this.streamed };
        case "none":
          return { status, bytes: 0 };
        default:
          return { status, bytes: head || bodyless(status) ? 0 : clonedBlob(res).size };
      }
    } catch {
      return { status, bytes: null };
    }
  }

  /** A file body, not HEAD: as Bun.serve answers it (see the module comment). */
  private fileOutcome(shape: { fd: number; offset: number }): Outcome {
    const res = this.res;
    const blob = clonedBlob(res);
    let st: Stats | undefined;
    if (shape.fd >= 0) {
      st = fstatSync(shape.fd);
      // A pipe or socket by fd: Bun streams it; the count is not known here.
      if (!st.isFile()) return { status: res.status, bytes: null };
    } else {
      const path = (blob as Blob & { name?: unknown }).name;
      if (typeof path !== "string") return { status: res.status, bytes: null };
      st = statSync(path, { throwIfNoEntry: false });
      // Missing, or a directory: Bun calls the error handler.
      if (st === undefined || !st.isFile()) return { status: 500, bytes: SERVER_ERROR_BYTES };
    }
    const size = Math.min(blob.size, Math.max(0, st.size - shape.offset));
    if (res.status === 200 && this.req.method === "GET" && wholeFile(shape.offset, blob.size, st.size)) {
      const range = resolveRange(this.req.headers.get("range"), size);
      if (range.kind === "part") return { status: 206, bytes: range.end - range.start };
      if (range.kind === "unsatisfiable") return { status: 416, bytes: 0 };
    }
    return { status: res.status, bytes: bodyless(res.status) ? 0 : size };
  }
}

/** The body of `res` as a Blob, through a clone (`res` itself stays unread for Bun). */
function clonedBlob(res: Response): Blob {
  const p = res.clone().blob();
  if (Bun.peek.status(p) !== "fulfilled") throw new Error("body not at hand");
  return Bun.peek(p) as Blob;
}
