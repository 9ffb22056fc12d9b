/**
 * One request/response on a connection ({@link Exchange}), its states, the `Request` handed to
 * the app, and the access-log record of a finished exchange.
 *
 * @module
 */
import type { Conn } from "./engine.ts";
import type { RequestHead } from "./parser.ts";
import type { ResponseRecord } from "./types.ts";
import { RAW_TARGET } from "../request-target.ts";

/** The app is running (or, for a buffered body, has not started yet). */
export const EX_APP = 0;
/** The response (or the engine's own error status) is known, waiting for its turn. */
export const EX_READY = 1;
/** Being written (a body that streams or waits for the socket). */
export const EX_WRITING = 2;
/** Written, or given up; accounted. */
export const EX_DONE = 3;

/** One request/response on a connection. */
export class Exchange {
  state = EX_APP;
  req: Request | null = null;
  res: Response | null = null;
  /** Non-zero: the engine answers this status itself (plain text). */
  errStatus = 0;
  /** The status sent (0 until a head is written). */
  status = 0;
  /** Response body bytes handed to the socket. */
  bytesSent = 0;
  /** A `100 Continue` is owed once this exchange is first in line. */
  continuePending = false;
  /** Response headers as sent, for the access log (null when nothing logs). */
  resHeaders: string[] | null = null;
  /** Created on first access of `req.signal`. */
  ac: AbortController | null = null;
  /** `performance.now()` when the head was complete (0 when nothing logs). */
  readonly start: number;

  constructor(
    readonly conn: Conn,
    /** The parsed head; null for a request that could not be parsed. */
    readonly head: RequestHead | null,
    public keepAlive: boolean,
  ) {
    this.start = conn.server.onResponse !== null ? performance.now() : 0;
  }
}

const kEx: unique symbol = Symbol("bunicorn.http.exchange");

/**
 * The Request class handed to apps: a plain `Request` whose `signal` is created lazily and aborts
 * when the client disconnects mid-exchange. (Overriding the getter in a subclass is cheaper than a
 * per-request `defineProperty`.) Copies made with `new Request(req)` / `req.clone()` carry a plain
 * signal that does not.
 */
class EngineRequest extends Request {
  declare [kEx]?: Exchange;
}
Object.defineProperty(EngineRequest.prototype, "signal", {
  configurable: true,
  enumerable: true,
  get(this: EngineRequest): AbortSignal {
    const ex = this[kEx];
    if (ex === undefined) return new AbortController().signal;
    let ac = ex.ac;
    if (ac === null) {
      ac = ex.ac = new AbortController();
      if (ex.conn.closed && ex.state !== EX_DONE) ac.abort(connectionClosed());
    }
    return ac.signal;
  },
});

// The raw request target, for `rawTarget(req)` (src/request-target.ts): a getter, so it costs nothing until read.
Object.defineProperty(EngineRequest.prototype, RAW_TARGET, {
  configurable: true,
  get(this: EngineRequest): string | undefined {
    return this[kEx]?.head?.target;
  },
});

/** The reason given to a request's signal and body stream when its connection closes. */
export function connectionClosed(): DOMException {
  return new DOMException("The connection was closed.", "AbortError");
}

/** Builds the app's Request for `ex` (throws when the head cannot make one, e.g. a bad URL). */
export function buildRequest(ex: Exchange, head: RequestHead, url: string, body: Uint8Array | ReadableStream<Uint8Array> | null): Request {
  let req: EngineRequest;
  // `new Request(url)` plus `headers.append` is ~3x cheaper than passing `headers` in the init.
  if (body === null) req = head.method === "GET" ? new EngineRequest(url) : new EngineRequest(url, { method: head.method });
  else if (body instanceof ReadableStream) req = new EngineRequest(url, { method: head.method, body, duplex: "half" } as RequestInit);
  else req = new EngineRequest(url, { method: head.method, body });
  const h = head.headers;
  const rh = req.headers;
  for (let i = 0; i < h.length; i += 2) rh.append(h[i]!, h[i + 1]!);
  req[kEx] = ex;
  ex.req = req;
  return req;
}

/** The exchange a Request built by this engine belongs to, or undefined for a foreign one. */
export function exchangeOf(req: Request): Exchange | undefined {
  return (req as EngineRequest)[kEx];
}

/** The access-log record of a finished exchange. */
export function accessRecord(ex: Exchange): ResponseRecord {
  const head = ex.head;
  const conn = ex.conn;
  const target = head !== null ? head.target : "";
  const q = target.indexOf("?");
  return {
    method: head !== null ? head.method : "-",
    target,
    path: q < 0 ? target : target.substring(0, q),
    query: q < 0 ? "" : target.substring(q + 1),
    httpVersion: head !== null ? head.httpVersion : "-",
    status: ex.status,
    bytesSent: ex.bytesSent,
    startTime: ex.start,
    durationMs: performance.now() - ex.start,
    remoteAddress: conn.peerAddress(),
    remotePort: conn.peerPort(),
    requestHeaders: head !== null ? head.headers : [],
    responseHeaders: ex.resHeaders ?? [],
  };
}
