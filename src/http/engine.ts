/**
 * bunicorn's own HTTP/1.1 engine ("shared-socket mode").
 *
 * `Bun.serve` cannot serve an inherited listening fd, so in shared-socket mode
 * each worker serves the arbiter's socket with `Bun.listen({ fd })` and this
 * engine: bytes → {@link HttpRequestParser} → Web `Request` → the app's
 * `fetch(req, engine)` → `Response` → bytes.
 *
 * Behaviour summary:
 * - keep-alive (HTTP/1.1 by default, HTTP/1.0 with `Connection: keep-alive`),
 *   pipelining (responses in request order, at most 16 queued per connection;
 *   reading pauses beyond that);
 * - request bodies: Content-Length or chunked; a Content-Length body of up to
 *   1 MiB is collected first and passed as a `Uint8Array` (the app starts once
 *   it is complete; `Expect: 100-continue` is answered at once, as Gunicorn
 *   does), anything else as a `ReadableStream` fed as bytes arrive (reading
 *   pauses while the app does not pull);
 *   `maxRequestBodySize` → 413; `Expect: 100-continue` → `100 Continue` once the
 *   request is first in line;
 * - responses: in-memory bodies (string, bytes, JSON…) are written with
 *   `Content-Length` in one write together with the head; a `Bun.file` body
 *   goes out with a `Content-Length` and `sendfile(2)` (read through user space
 *   with `sendfile: false`), a `Blob` body with a `Content-Length`; other bodies
 *   (`ReadableStream`, typeless Blobs) are read as a stream: what arrives
 *   without waiting (each read may take one event-loop turn), up to 256 KiB,
 *   is collected, and if the stream ends by then the body goes out with a
 *   `Content-Length` (small files, blobs); otherwise `Transfer-Encoding:
 *   chunked` starts at once (live streams are not delayed);
 *   HTTP/1.0 clients get the raw stream and a close; HEAD gets the head only;
 *   a `Date` header is added, no `Server` header;
 * - errors: a handler that throws/rejects or returns a non-Response gives a
 *   plain 500 (no stack) and `onError`; protocol errors give the plain status
 *   with `Connection: close` and a short text body, then the connection closes;
 *   nothing escapes to the process;
 * - timeouts: idle keep-alive connections close after `keepalive` seconds; a
 *   connection that sends nothing, a partial head, or stalls while sending a
 *   body is closed after `headerTimeout` seconds (default `max(10, keepalive)`),
 *   without a response (like Bun.serve and Gunicorn). The sweep runs every
 *   second, so closes happen up to one second late. Handlers themselves have no
 *   timeout here (that is the arbiter's worker timeout);
 * - `req.signal` aborts when the client disconnects mid-exchange (created
 *   lazily on first access, so it costs nothing when unused). Copies made with
 *   `new Request(req)` / `req.clone()` carry a plain signal that does not;
 * - PROXY protocol (`proxyProtocol`): the connection's first bytes must be a v1
 *   or v2 header (`auto`: either, or none at all, i.e. plain HTTP), whose source
 *   address then stands for the peer (`requestIP`, `onResponse`). A header from a
 *   peer outside `proxyAllowIps` gets a plain 403, a malformed one a 400, and the
 *   connection closes. Engines without the option use socket handlers that never
 *   look for a header.
 *
 * @module
 */
import { estimateShallowMemoryUsageOf } from "bun:jsc";
import type { Socket, SocketHandler, SocketListener } from "bun";
import { _blobBodyOf, _sliceStream, EMPTY_RESPONSE_SIZE, type _BlobBody } from "./_blob-body.ts";
import { _ChunkedDecoder, type ChunkSink } from "./_chunked.ts";
import { errnoName } from "../os/_libc.ts";
import { headerValue } from "./_header-value.ts";
import { _resolveRange } from "./_range.ts";
import { _fs, _sendfile, _sendfileAvailable } from "./_sendfile.ts";
import { acquireClock, plainResponse, releaseClock, STATUS_TEXT, statusLine, _clock } from "./_status.ts";
import { ForbiddenProxyRequest, HttpError, RequestBodyTooLarge } from "./errors.ts";
import { ipMatcher } from "./ip.ts";
import { HttpRequestParser, resolveParserOptions, type RequestHead, type ResolvedParserOptions, type HttpParserOptions } from "./parser.ts";
import { parseProxyHeader, type ProxyMode } from "./proxy-protocol.ts";

/** Where the engine listens: an inherited fd, a TCP address, or a unix socket path. */
export type HttpTarget = { fd: number } | { hostname: string; port: number } | { unix: string };

/** One finished exchange, for the access log. */
export interface ResponseRecord {
  /** Request method (`"-"` when the request line could not be parsed). */
  method: string;
  /** Raw request target as sent (path + query, or absolute / authority / `*` form). */
  target: string;
  /** Path part of the target (before `?`). */
  path: string;
  /** Query string without `?` (empty when none). */
  query: string;
  /** `"1.0"` or `"1.1"` (`"-"` when unknown). */
  httpVersion: string;
  /** Status code sent. */
  status: number;
  /** Response body bytes sent (not counting head or chunk framing). */
  bytesSent: number;
  /** `performance.now()` when the request head was complete. */
  startTime: number;
  /** Milliseconds from {@link startTime} until the response was fully handed to the socket. */
  durationMs: number;
  /** Peer address (`""` for unix sockets). */
  remoteAddress: string;
  /** Peer port (0 for unix sockets). */
  remotePort: number;
  /** Request headers as a flat `[name, value, …]` list, names as received. */
  requestHeaders: string[];
  /** Response headers as a flat `[name, value, …]` list, as sent. */
  responseHeaders: string[];
}

/** Options of {@link serveHttp}. Parser limits mirror Gunicorn's settings. */
export interface HttpEngineOptions extends HttpParserOptions {
  /** The application. May return a Response or a Promise of one. */
  fetch: (req: Request, server: HttpEngine) => Response | Promise<Response>;
  /** Seconds an idle keep-alive connection is kept; 0 = no keep-alive (Connection: close after each response). Default 2. */
  keepalive?: number;
  /**
   * Seconds a connection may take to deliver a request head (from its first byte, or from the
   * connection's open), and the longest pause while a request body is being received.
   * Default `max(10, keepalive)` (Bun's own header timeout is about 10 s).
   */
  headerTimeout?: number;
  /** Max requests in flight in this engine (worker_connections); beyond it clients get a plain 503 and a close. Default 1000. */
  maxInFlight?: number;
  /** Max request body bytes; larger bodies get 413. Default 128 MiB. 0 or Infinity = unlimited. */
  maxRequestBodySize?: number;
  /** Called once per finished exchange (access log). Must not throw (errors are swallowed). */
  onResponse?: (record: ResponseRecord) => void;
  /** Called when the app throws/rejects or returns a non-Response (`req` is null if the Request could not be built). */
  onError?: (err: unknown, req: Request | null) => void;
  /**
   * PROXY protocol header expected at the start of each connection: `"v1"`, `"v2"`, or `"auto"`
   * (either version, or none: plain HTTP). Default false (no header is looked for).
   */
  proxyProtocol?: false | ProxyMode;
  /**
   * Peers allowed to send a PROXY header: IPv4/IPv6 addresses and CIDR networks, or `"*"` for
   * any. Unix-socket peers are always allowed. Default `["127.0.0.1", "::1"]`.
   */
  proxyAllowIps?: readonly string[];
  /**
   * Send file bodies (`new Response(Bun.file(path))`) with `sendfile(2)`, from the page cache
   * straight to the socket. `false` reads them through user space (Gunicorn's `--no-sendfile`).
   * Either way a Blob or file body goes out with a `Content-Length`. Default true.
   */
  sendfile?: boolean;
}

/** A running engine. */
export interface HttpEngine {
  /**
   * Stops the engine. `graceful` (default true): stop accepting, close idle
   * keep-alive connections, let in-flight responses finish (each connection
   * closes after its last response) and resolve once every connection is
   * closed. `false`: close everything now.
   */
  stop(graceful?: boolean): Promise<void>;
  /** Requests whose response has not been fully written yet. */
  readonly inFlight: number;
  /** Open connections. */
  readonly connections: number;
  /** Exchanges completed since start (including error responses). */
  readonly requestsServed: number;
  /** The peer of the connection `req` arrived on, like `Bun.serve`'s `requestIP`; null for unix sockets or foreign requests. */
  requestIP(req: Request): { address: string; family: string; port: number } | null;
}

const MAX_PIPELINE = 16;
/** How long a connection accepted just before a graceful stop may take to send its first request. */
const FIRST_REQUEST_GRACE_MS = 1000;

/** Unread body bytes beyond which a finished exchange closes the connection instead of draining. */
const MAX_DRAIN = 64 * 1024;
const BODY_HWM = 64 * 1024;
const DEFAULT_MAX_BODY = 128 * 1024 * 1024;

const kEx: unique symbol = Symbol("bunicorn.http.exchange");

/**
 * The Request class handed to apps: a plain `Request` whose `signal` is created
 * lazily and aborts when the client disconnects mid-exchange. (Overriding the
 * getter in a subclass is cheaper than a per-request `defineProperty`.)
 */
class _EngineRequest extends Request {
  declare [kEx]?: _Exchange;
}
Object.defineProperty(_EngineRequest.prototype, "signal", {
  configurable: true,
  enumerable: true,
  get(this: _EngineRequest): AbortSignal {
    const ex = this[kEx];
    if (ex === undefined) return new AbortController().signal;
    let ac = ex.ac;
    if (ac === null) {
      ac = ex.ac = new AbortController();
      if (ex.conn.closed && ex.state !== EX_DONE) ac.abort(new DOMException("The connection was closed.", "AbortError"));
    }
    return ac.signal;
  },
});

const CONTINUE_LINE = "HTTP/1.1 100 Continue\r\n\r\n";

// ---- in-memory body detection -------------------------------------------------
// Reading `res.body` materializes a ReadableStream (~0.4 µs), and calling
// `res.blob()` on a streamed body would buffer it entirely. JSC's shallow size of
// a Response includes an owned in-memory body (string/bytes), so a Response
// whose shallow size exceeds that of `new Response(null)` has a non-empty body
// already in memory, and `res.blob()` resolves synchronously. The heuristic is
// verified at load time and disabled if it does not hold.
const FAST_BODY_OK = ((): boolean => {
  try {
    const stream = new ReadableStream({ pull(c) { c.close(); } });
    if (estimateShallowMemoryUsageOf(new Response(stream)) > EMPTY_RESPONSE_SIZE) return false;
    if (estimateShallowMemoryUsageOf(new Response(Bun.file("/dev/null"))) > EMPTY_RESPONSE_SIZE) return false;
    const r = new Response("ab");
    if (estimateShallowMemoryUsageOf(r) <= EMPTY_RESPONSE_SIZE) return false;
    const p = r.blob();
    return Bun.peek.status(p) === "fulfilled";
  } catch {
    return false;
  }
})();

function toBytes(chunk: unknown): Uint8Array | null {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return null;
}

/** A streamed body that completes within this many bytes (without waiting on I/O) is sent with a Content-Length. */
const PREBUFFER_LIMIT = 256 * 1024;

/** Bytes read and written through Bun's socket when a sendfile(2) would block. */
const SENDFILE_SLICE = 64 * 1024;
const EPIPE = 32;
const ECONNRESET = 104;

const NOT_YET: unique symbol = Symbol("not yet");

/** The promise's result if it settles within one turn of the event loop, else NOT_YET. */
function settledSoon<T>(p: Promise<T>): T | typeof NOT_YET | Promise<T | typeof NOT_YET> {
  const st = Bun.peek.status(p);
  if (st === "fulfilled") return Bun.peek(p) as T;
  if (st === "rejected") return p;
  return Promise.race([p, new Promise<typeof NOT_YET>((resolve) => setImmediate(resolve, NOT_YET))]);
}

/** `head` (starting with a status line) with the status line replaced by `status`'s. */
function withStatus(ex: _Exchange, head: string, status: number): string {
  ex.status = status;
  return statusLine(status, "") + head.slice(head.indexOf("\r\n") + 2);
}

/**
 * Shared staging buffer: a head and a body of up to {@link STAGE_MAX} bytes are assembled here and
 * written with one `socket.write`, i.e. one send(2), as Bun.serve does (a separate send for the
 * head costs a packet and a wake-up of the client: 2 sends per 64 KiB echo doubled the syscall
 * count). It grows on demand, so a worker that sends big in-memory bodies keeps up to 1 MiB.
 */
let SCRATCH = Buffer.allocUnsafeSlow(64 * 1024);
const STAGE_MAX = 1024 * 1024;

/** {@link SCRATCH}, grown to hold `total` bytes; null when that is over {@link STAGE_MAX}. */
function scratchFor(total: number): Buffer | null {
  if (total <= SCRATCH.length) return SCRATCH;
  if (total > STAGE_MAX) return null;
  let size = SCRATCH.length;
  while (size < total) size *= 2;
  SCRATCH = Buffer.allocUnsafeSlow(size);
  return SCRATCH;
}

function latin1Bytes(s: string): Buffer {
  const b = Buffer.allocUnsafe(s.length);
  b.write(s, 0, s.length, "latin1");
  return b;
}

/** Settings shared by all connections of an engine. */
interface EngineConfig {
  parser: ResolvedParserOptions;
  keepalive: number;
  headerTimeoutMs: number;
  maxInFlight: number;
  maxBody: number;
}

// ---- exchange --------------------------------------------------------------------

const EX_APP = 0; // app running
const EX_READY = 1; // response (or engine error) known, waiting for its turn
const EX_WRITING = 2; // being written (streaming)
const EX_DONE = 3;

/** One request/response on a connection. */
class _Exchange {
  state = EX_APP;
  req: Request | null = null;
  res: Response | null = null;
  /** Non-zero: the engine answers this status itself (plain text). */
  errStatus = 0;
  status = 0;
  bytesSent = 0;
  continuePending = false;
  bodyCtl: ReadableStreamDefaultController<Uint8Array> | null = null;
  resHeaders: string[] | null = null;
  /** Created on first access of `req.signal`. */
  ac: AbortController | null = null;
  readonly start: number;

  constructor(
    readonly conn: _Conn,
    readonly head: RequestHead | null,
    public keepAlive: boolean,
  ) {
    this.start = conn.engine.onResponse !== null ? performance.now() : 0;
  }
}

// ---- connection ------------------------------------------------------------------

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
/** A Content-Length body of at most {@link BUFFER_BODY_MAX} bytes, collected before the app starts. */
const BODY_BUFFER = 3;
/**
 * Request bodies up to this size (by Content-Length) are collected into one buffer before the app
 * runs and handed to it as bytes, like a body that arrived with its head: a `ReadableStream` fed
 * chunk by chunk costs a promise per chunk in `arrayBuffer()`/`json()`, and a 64 KiB body never
 * arrives with its head (Bun reads at most 64 KiB at a time). Larger bodies stream.
 */
const BUFFER_BODY_MAX = 1024 * 1024;

/** Per-connection state, stored in `socket.data`. */
class _Conn implements ChunkSink {
  readonly engine: _Engine;
  readonly socket: Socket<_Conn>;
  readonly parser: HttpRequestParser;
  readonly queue: _Exchange[];
  /** Outbound bytes not yet accepted by the socket. */
  out: Uint8Array[] | null;
  closed: boolean;
  /** End the socket once `out` is flushed. */
  endAfterFlush: boolean;
  /** No more requests are read (after close-delimited exchange or a parse error). */
  readDone: boolean;
  /** Input not yet processed while reading is blocked. */
  stash: Uint8Array | null;
  paused: boolean;
  inProcess: boolean;
  deadline: number;
  headDeadline: number;
  peerEnded: boolean;
  bodyMode: number;
  bodyRemaining: number;
  bodyReceived: number;
  /** Exchange whose request body is being received (null: discarding). */
  bodyEx: _Exchange | null;
  chunked: _ChunkedDecoder | null;
  /** BODY_BUFFER: the exchange whose body is being collected, and the body so far (`bodyReceived` bytes). */
  bufEx: _Exchange | null;
  bufBody: Buffer | null;
  /** The exchange being streamed out; waits for drain. */
  drainWaiter: (() => void) | null;
  authority: string | null;
  /** Exchanges finished on this connection. */
  served: number;
  /** The peer, read from the socket once per connection (a native getter builds a new string each time), or the PROXY header's source. */
  private peerAddr: string | null;
  private peerPortNo: number;
  private peerFam: string | null;
  /** A PROXY header is still expected (only with the proxyProtocol option). */
  proxyPending: boolean;
  /** The start of a PROXY header received so far. */
  proxyBuf: Uint8Array | null;

  constructor(engine: _Engine, socket: Socket<_Conn>) {
    this.engine = engine;
    this.socket = socket;
    this.served = 0;
    this.peerAddr = null;
    this.peerPortNo = -1;
    this.peerFam = null;
    this.proxyPending = engine.proxyMode !== null;
    this.proxyBuf = null;
    this.parser = new HttpRequestParser(engine.cfg.parser);
    this.queue = [];
    this.out = null;
    this.closed = false;
    this.endAfterFlush = false;
    this.readDone = false;
    this.stash = null;
    this.paused = false;
    this.inProcess = false;
    this.deadline = performance.now() + engine.cfg.headerTimeoutMs;
    this.headDeadline = 0;
    this.peerEnded = false;
    this.bodyMode = BODY_NONE;
    this.bodyRemaining = 0;
    this.bodyReceived = 0;
    this.bodyEx = null;
    this.chunked = null;
    this.bufEx = null;
    this.bufBody = null;
    this.drainWaiter = null;
    this.authority = null;
  }

  // ---- output

  /** Writes bytes, buffering what the socket does not take. */
  write(data: Uint8Array): void {
    if (this.closed) return;
    if (this.out !== null) {
      this.out.push(data);
      return;
    }
    const n = this.socket.write(data);
    if (n < 0) return;
    if (n < data.length) this.out = [data.subarray(n)];
  }

  /** Writes the latin-1 string `h` followed by `body`, in one socket write up to {@link STAGE_MAX} bytes. */
  writeStr(h: string, body: Uint8Array | null = null): void {
    const hl = h.length;
    const total = body === null ? hl : hl + body.length;
    const sc = scratchFor(total);
    if (sc === null) {
      this.write(latin1Bytes(h));
      if (body !== null) this.write(body);
      return;
    }
    sc.write(h, 0, hl, "latin1");
    if (body !== null) sc.set(body, hl);
    this.writeScratch(total);
  }

  /** Writes `SCRATCH[0:total]`, copying whatever the socket does not take. */
  writeScratch(total: number): void {
    if (this.closed) return;
    if (this.out !== null) {
      this.out.push(Buffer.from(SCRATCH.subarray(0, total)));
      return;
    }
    const n = this.socket.write(SCRATCH, 0, total);
    if (n < 0) return;
    if (n < total) this.out = [Buffer.from(SCRATCH.subarray(n, total))];
  }

  onDrain(): void {
    const out = this.out;
    if (out !== null) {
      while (out.length > 0) {
        const d = out[0]!;
        const n = this.socket.write(d);
        if (n < 0) return;
        if (n < d.length) {
          out[0] = d.subarray(n);
          return;
        }
        out.shift();
      }
      this.out = null;
    }
    if (this.endAfterFlush) {
      this.socket.end();
      return;
    }
    const w = this.drainWaiter;
    if (w !== null) {
      this.drainWaiter = null;
      w();
    }
  }

  peerAddress(): string {
    if (this.peerAddr === null) this.peerAddr = this.socket.remoteAddress ?? "";
    return this.peerAddr;
  }

  peerPort(): number {
    if (this.peerPortNo < 0) this.peerPortNo = this.socket.remotePort ?? 0;
    return this.peerPortNo;
  }

  peerFamily(): string {
    if (this.peerFam === null) {
      const a = this.peerAddress();
      this.peerFam = this.socket.remoteFamily ?? (a.includes(":") ? "IPv6" : "IPv4");
    }
    return this.peerFam;
  }

  /** Bytes of a request (or PROXY header) received but not complete yet. */
  hasPartialInput(): boolean {
    return this.parser.buffered > 0 || this.proxyBuf !== null;
  }

  // ---- PROXY protocol

  /** Input while the PROXY header is expected; the rest goes to {@link onData}. */
  onProxyData(chunk: Uint8Array): void {
    const engine = this.engine;
    const mode = engine.proxyMode!;
    const peer = this.peerAddress();
    // Unix-socket peers (no address) are always allowed.
    const allowed = peer === "" || engine.proxyAllowed(peer);
    if (!allowed && mode !== "auto") {
      this.proxyRefused(new ForbiddenProxyRequest());
      return;
    }
    const prev = this.proxyBuf;
    const buf = prev === null ? chunk : Buffer.concat([prev, chunk]);
    const r = parseProxyHeader(buf, mode);
    if (r.state === "need-more") {
      // Keep a copy: the chunk's memory is not ours after this callback.
      this.proxyBuf = prev === null ? Buffer.from(chunk) : buf;
      return;
    }
    if (r.state === "error") {
      // In auto mode an error means a header was recognized: a refused peer learns only that.
      this.proxyRefused(allowed ? r.error : new ForbiddenProxyRequest());
      return;
    }
    if (!allowed && r.consumed > 0) {
      this.proxyRefused(new ForbiddenProxyRequest());
      return;
    }
    this.proxyPending = false;
    this.proxyBuf = null;
    const src = r.source;
    if (src !== null) {
      this.peerAddr = src.address;
      this.peerPortNo = src.port;
      this.peerFam = src.family;
    }
    if (r.consumed < buf.length) this.onData(r.consumed === 0 ? buf : buf.subarray(r.consumed));
  }

  private proxyRefused(err: HttpError): void {
    this.proxyPending = false;
    this.proxyBuf = null;
    this.protocolError(err);
    this.updateDeadline();
  }

  /** Ends the connection after pending output. */
  closeSoon(): void {
    this.readDone = true;
    if (this.closed) return;
    if (this.out === null) this.socket.end();
    else this.endAfterFlush = true;
  }

  // ---- input

  onData(chunk: Uint8Array): void {
    if (this.readDone) {
      // Bytes after the last request we will answer are dropped, except a body still being consumed.
      if (this.bodyMode === BODY_NONE) return;
    }
    if (this.paused) {
      // Should not happen (socket paused), but keep the bytes in order.
      this.stash = this.stash === null ? chunk : Buffer.concat([this.stash, chunk]);
      return;
    }
    this.process(chunk, 0);
  }

  /** Parses and dispatches as much of `buf[pos:]` as possible. */
  process(buf: Uint8Array, pos: number): void {
    this.inProcess = true;
    try {
      const len = buf.length;
      while (pos < len) {
        if (this.bodyMode !== BODY_NONE) {
          pos = this.consumeBody(buf, pos);
          if (this.bodyMode !== BODY_NONE) break;
          continue;
        }
        if (this.readDone) break;
        if (this.queue.length >= MAX_PIPELINE || this.closed) {
          this.block(buf, pos);
          break;
        }
        const wasEmpty = this.parser.buffered === 0;
        const end = this.parser.feed(buf, pos);
        if (end < 0) {
          if (wasEmpty) this.headDeadline = performance.now() + this.engine.cfg.headerTimeoutMs;
          break;
        }
        pos = this.dispatch(this.parser.head!, buf, end);
      }
    } catch (err) {
      this.protocolError(err);
    }
    this.inProcess = false;
    // Paused for body backpressure, but the body ended (or was dropped) meanwhile: read again.
    if (this.paused && this.canRead()) {
      if (this.stash === null) {
        this.paused = false;
        this.socket.resume();
      } else queueMicrotask(() => this.unblock());
    }
    this.updateDeadline();
  }

  private block(buf: Uint8Array, pos: number): void {
    const rest = pos === 0 ? buf : buf.subarray(pos);
    this.stash = this.stash === null ? rest : Buffer.concat([rest, this.stash]);
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Whether input may be read now (pipeline not full, request body not backpressured). */
  private canRead(): boolean {
    if (this.closed || this.queue.length >= MAX_PIPELINE) return false;
    const be = this.bodyEx;
    return be === null || be.bodyCtl === null || (be.bodyCtl.desiredSize ?? 1) > 0;
  }

  /** Continues with stashed input once reading may go on. */
  unblock(): void {
    if (!this.paused || this.inProcess || !this.canRead()) return;
    this.paused = false;
    this.socket.resume();
    const s = this.stash;
    this.stash = null;
    if (s !== null) this.process(s, 0);
  }

  updateDeadline(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.bodyMode !== BODY_NONE) this.deadline = now + this.engine.cfg.headerTimeoutMs;
    else if (this.parser.buffered > 0) this.deadline = this.headDeadline;
    else if (this.queue.length > 0) this.deadline = 0;
    else this.deadline = now + this.engine.cfg.keepalive * 1000;
  }

  /** Builds the Request for a parsed head, starts the app; returns the position after any buffered body. */
  private dispatch(head: RequestHead, buf: Uint8Array, pos: number): number {
    const engine = this.engine;
    const cfg = engine.cfg;
    let keepAlive = head.keepAlive && cfg.keepalive > 0 && !engine.stopping;
    if (head.method === "CONNECT") keepAlive = false;
    const ex = new _Exchange(this, head, keepAlive);
    this.queue.push(ex);
    engine.inFlight++;
    if (!keepAlive) this.readDone = true;

    if (engine.inFlight > cfg.maxInFlight) {
      this.engineError(ex, 503);
      return buf.length;
    }

    // Framing.
    let bodyMode = BODY_NONE;
    const cl = head.contentLength;
    if (head.chunked) bodyMode = BODY_CHUNKED;
    else if (cl > 0) bodyMode = BODY_LENGTH;
    if (cl > cfg.maxBody) {
      this.engineError(ex, 413);
      return buf.length;
    }

    let body: Uint8Array | ReadableStream<Uint8Array> | null = null;
    if (bodyMode === BODY_LENGTH && buf.length - pos >= cl) {
      body = buf.subarray(pos, pos + cl);
      pos += cl;
      bodyMode = BODY_NONE;
    } else if (bodyMode === BODY_LENGTH && cl <= BUFFER_BODY_MAX) {
      const b = Buffer.allocUnsafe(cl);
      b.set(buf.subarray(pos), 0);
      this.bodyMode = BODY_BUFFER;
      this.bodyReceived = buf.length - pos;
      this.bodyRemaining = cl - this.bodyReceived;
      this.bufEx = ex;
      this.bufBody = b;
      if (head.expectContinue) {
        if (this.queue.length === 1) this.writeStr(CONTINUE_LINE);
        else ex.continuePending = true;
      }
      return buf.length;
    } else if (bodyMode !== BODY_NONE) {
      body = this.startBody(ex, bodyMode, cl);
    }
    return this.startApp(ex, head, body, bodyMode) ? pos : buf.length;
  }

  /** Builds the Request and runs the app. False when the Request could not be built (a 400 is queued). */
  private startApp(ex: _Exchange, head: RequestHead, body: Uint8Array | ReadableStream<Uint8Array> | null, bodyMode: number): boolean {
    const engine = this.engine;
    const url = this.url(head);
    const h = head.headers;
    let req: _EngineRequest;
    try {
      // `new Request(url)` plus `headers.append` is ~3x cheaper than passing `headers` in the init.
      if (body === null) req = head.method === "GET" ? new _EngineRequest(url) : new _EngineRequest(url, { method: head.method });
      else if (body instanceof ReadableStream) req = new _EngineRequest(url, { method: head.method, body, duplex: "half" } as RequestInit);
      else req = new _EngineRequest(url, { method: head.method, body });
      const rh = req.headers;
      for (let i = 0; i < h.length; i += 2) rh.append(h[i]!, h[i + 1]!);
    } catch {
      this.bodyEx = null;
      ex.bodyCtl = null;
      this.engineError(ex, 400);
      return false;
    }
    req[kEx] = ex;
    ex.req = req;

    if (head.expectContinue && bodyMode !== BODY_NONE) {
      if (this.queue.length === 1) this.writeStr(CONTINUE_LINE);
      else ex.continuePending = true;
    }

    let r: unknown;
    try {
      r = engine.app(req, engine);
    } catch (err) {
      this.appFailed(ex, err);
      return true;
    }
    if (r instanceof Response) this.respond(ex, r);
    else if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
      (r as Promise<unknown>).then(
        (res) => this.respond(ex, res),
        (err) => this.appFailed(ex, err),
      );
    } else this.respond(ex, r);
    return true;
  }

  private startBody(ex: _Exchange, mode: number, cl: number): ReadableStream<Uint8Array> {
    this.bodyMode = mode;
    this.bodyRemaining = cl;
    this.bodyReceived = 0;
    this.bodyEx = ex;
    if (mode === BODY_CHUNKED) {
      if (this.chunked === null) {
        const p = this.engine.cfg.parser;
        this.chunked = new _ChunkedDecoder(p.limitRequestFields, p.limitRequestFieldSize);
      } else this.chunked.reset();
    }
    return new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          ex.bodyCtl = c;
        },
        pull: () => {
          this.unblock();
        },
        cancel: () => {
          ex.bodyCtl = null;
          if (this.bodyEx === ex) this.bodyEx = null;
          this.unblock();
        },
      },
      { highWaterMark: BODY_HWM, size: (c) => (c === undefined ? 0 : c.byteLength) },
    );
  }

  /** Consumes request body bytes; returns the new position. */
  private consumeBody(buf: Uint8Array, pos: number): number {
    if (this.bodyMode === BODY_BUFFER) {
      const take = Math.min(this.bodyRemaining, buf.length - pos);
      this.bufBody!.set(take === buf.length - pos && pos === 0 ? buf : buf.subarray(pos, pos + take), this.bodyReceived);
      this.bodyReceived += take;
      this.bodyRemaining -= take;
      pos += take;
      if (this.bodyRemaining === 0) {
        const ex = this.bufEx!;
        const body = this.bufBody!;
        this.bufEx = null;
        this.bufBody = null;
        this.bodyMode = BODY_NONE;
        this.startApp(ex, ex.head!, body, BODY_NONE);
      }
      return pos;
    }
    if (this.bodyMode === BODY_LENGTH) {
      const take = Math.min(this.bodyRemaining, buf.length - pos);
      this.chunkData(buf, pos, pos + take);
      this.bodyRemaining -= take;
      pos += take;
      if (this.bodyRemaining === 0) this.endBody();
      return pos;
    }
    const dec = this.chunked!;
    try {
      pos = dec.feed(buf, pos, buf.length, this);
    } catch (err) {
      this.bodyFailed(err);
      return buf.length;
    }
    if (dec.done) this.endBody();
    return pos;
  }

  /** ChunkSink: body data. */
  chunkData(buf: Uint8Array, start: number, end: number): void {
    if (start === end) return;
    this.bodyReceived += end - start;
    if (this.bodyReceived > this.engine.cfg.maxBody) throw new RequestBodyTooLarge();
    const ex = this.bodyEx;
    if (ex === null || ex.bodyCtl === null) return; // discarding
    ex.bodyCtl.enqueue(buf.subarray(start, end));
    if ((ex.bodyCtl.desiredSize ?? 1) <= 0 && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private endBody(): void {
    this.bodyMode = BODY_NONE;
    const ex = this.bodyEx;
    this.bodyEx = null;
    if (ex !== null && ex.bodyCtl !== null) {
      const c = ex.bodyCtl;
      ex.bodyCtl = null;
      try {
        c.close();
      } catch {
        /* cancelled */
      }
    }
  }

  /** A malformed or too large body: error the app's stream and answer with the error status if possible. */
  private bodyFailed(err: unknown): void {
    const status = err instanceof HttpError ? err.status : 400;
    this.bodyMode = BODY_NONE;
    this.readDone = true;
    const ex = this.bodyEx;
    this.bodyEx = null;
    if (ex === null) {
      this.closeSoon();
      return;
    }
    ex.keepAlive = false;
    if (ex.bodyCtl !== null) {
      const c = ex.bodyCtl;
      ex.bodyCtl = null;
      try {
        c.error(err);
      } catch {
        /* already closed */
      }
    }
    if (ex.state === EX_APP) this.engineError(ex, status);
  }

  /** Answers a request with a plain status instead of (or ahead of) the app. */
  engineError(ex: _Exchange, status: number): void {
    ex.keepAlive = false;
    this.readDone = true;
    ex.errStatus = status;
    ex.res = null;
    ex.state = EX_READY;
    this.pump();
  }

  /** A parse error: queue a plain error response and close after it. */
  protocolError(err: unknown): void {
    if (!(err instanceof HttpError)) {
      this.engine.reportError(err, null);
    }
    this.readDone = true;
    this.parser.reset();
    if (this.bodyMode !== BODY_NONE) {
      this.bodyFailed(err);
      return;
    }
    const ex = new _Exchange(this, null, false);
    this.queue.push(ex);
    this.engine.inFlight++;
    ex.errStatus = err instanceof HttpError ? err.status : 400;
    ex.state = EX_READY;
    this.pump();
  }

  appFailed(ex: _Exchange, err: unknown): void {
    this.engine.reportError(err, ex.req);
    if (ex.state !== EX_APP) return;
    ex.errStatus = 500;
    ex.state = EX_READY;
    this.pump();
  }

  respond(ex: _Exchange, res: unknown): void {
    if (ex.state !== EX_APP) return; // engine already answered (e.g. 413)
    if (!(res instanceof Response)) {
      this.appFailed(ex, new TypeError(`fetch handler returned ${res === null ? "null" : typeof res}, expected a Response`));
      return;
    }
    ex.res = res;
    ex.state = EX_READY;
    if (this.queue[0] === ex) this.pump();
  }

  url(head: RequestHead): string {
    const t = head.target;
    const c = t.charCodeAt(0);
    if (c === 47 /* / */) return "http://" + (head.host || this.defaultAuthority()) + t;
    if (head.method === "CONNECT") return "http://" + t + "/";
    if (c === 42 /* * */ && t.length === 1) return "http://" + (head.host || this.defaultAuthority()) + "/";
    return t; // absolute-form keeps its own authority
  }

  defaultAuthority(): string {
    let a = this.authority;
    if (a === null) {
      const s = this.socket;
      const addr = s.localAddress;
      if (!addr) a = "localhost";
      else if (addr.includes(":")) a = `[${addr}]:${s.localPort}`;
      else a = `${addr}:${s.localPort}`;
      this.authority = a;
    }
    return a;
  }

  // ---- response writing

  /** Writes ready responses in order. */
  pump(): void {
    const q = this.queue;
    while (q.length > 0) {
      const ex = q[0]!;
      if (this.closed) {
        if (ex.state === EX_WRITING || ex.state === EX_APP) return;
        this.finish(ex);
        continue;
      }
      if (ex.state === EX_APP) {
        if (ex.continuePending) {
          ex.continuePending = false;
          this.writeStr(CONTINUE_LINE);
        }
        return;
      }
      if (ex.state !== EX_READY) return;
      if (ex.errStatus !== 0) {
        this.writeEngineError(ex);
        this.finish(ex);
        continue;
      }
      ex.state = EX_WRITING;
      let sync: boolean;
      try {
        sync = this.writeResponse(ex, ex.res!);
      } catch (err) {
        // Reading the app's Response failed before anything was written (e.g. a consumed body).
        this.engine.reportError(err, ex.req);
        ex.errStatus = 500;
        this.writeEngineError(ex);
        sync = true;
      }
      if (!sync) return; // streaming; pump resumes when done
      this.finish(ex);
    }
  }

  private writeEngineError(ex: _Exchange): void {
    const status = ex.errStatus;
    ex.status = status;
    // A failed handler (500) leaves the protocol state intact: keep the connection unless something
    // else says otherwise. Protocol errors, 413 and 503 always close.
    if (status !== 500 || this.engine.stopping || (this.bodyEx === ex && (this.bodyMode === BODY_CHUNKED || this.bodyRemaining > MAX_DRAIN || ex.continuePending))) {
      ex.keepAlive = false;
    }
    const body = `${STATUS_TEXT[status] ?? "Error"}\n`;
    ex.bytesSent = body.length;
    const http10 = ex.head !== null && ex.head.versionMinor === 0;
    this.writeStr(plainResponse(status, body, !ex.keepAlive ? "close" : http10 ? "keep-alive" : ""));
  }

  /** Writes a response. Returns true if done synchronously, false if streaming continues asynchronously. */
  private writeResponse(ex: _Exchange, res: Response): boolean {
    const status = res.status;
    ex.status = status;
    if (this.engine.stopping) ex.keepAlive = false;
    // Responding before the request body was read: a big or chunked rest is not drained, the connection closes.
    if (this.bodyEx === ex && (this.bodyMode === BODY_CHUNKED || this.bodyRemaining > MAX_DRAIN || ex.continuePending)) ex.keepAlive = false;
    const isHead = ex.head !== null && ex.head.method === "HEAD";
    const noBody = status < 200 || status === 204 || status === 304;
    const http10 = ex.head !== null && ex.head.versionMinor === 0;
    const record = this.engine.onResponse !== null;
    const rh: string[] | null = record ? [] : null;
    let h = statusLine(status, res.statusText);
    let hasDate = false;
    let hasType = false;
    let appLength: string | null = null;
    const headers = res.headers as Headers & { count?: number };
    if (headers.count !== 0) {
      for (const [k, v] of headers) {
        switch (k) {
          case "content-length":
            appLength = v;
            continue;
          case "connection":
            // The app may ask to close the connection after this response (e.g. max_requests).
            if (v.toLowerCase().includes("close")) ex.keepAlive = false;
            continue;
          case "transfer-encoding":
          case "keep-alive":
            continue;
          case "date":
            hasDate = true;
            break;
          case "content-type":
            hasType = true;
            break;
        }
        h += k + ": " + v + "\r\n";
        if (rh !== null) rh.push(k, v);
      }
    }
    if (!hasDate) h += _clock.dateLine;
    if (!ex.keepAlive) h += "Connection: close\r\n";
    else if (http10) h += "Connection: keep-alive\r\n";
    ex.resHeaders = rh;

    if (res.bodyUsed) throw new TypeError("fetch handler returned a Response whose body was already used");
    if (FAST_BODY_OK && estimateShallowMemoryUsageOf(res) > EMPTY_RESPONSE_SIZE) {
      let bytes: Uint8Array;
      if (hasType) bytes = Bun.peek(res.bytes()) as Uint8Array;
      else {
        // The blob carries the implied type (text/plain;charset=utf-8 for strings).
        const blob = Bun.peek(res.blob()) as Blob;
        const type = blob.type;
        if (type !== "") {
          h += "content-type: " + type + "\r\n";
          if (rh !== null) rh.push("content-type", type);
        }
        bytes = Bun.peek(blob.bytes()) as Uint8Array;
      }
      this.writeKnown(ex, h, bytes, isHead, noBody);
      return true;
    }
    // A Blob or Bun.file body (Bun gives those a content-type): size known, so a Content-Length,
    // and sendfile(2) for a file. Without a content-type it is read as a stream below.
    if (hasType) {
      const bb = _blobBodyOf(res);
      if (bb !== null) return this.writeBlob(ex, h, bb, isHead, noBody);
    }
    const body = res.body;
    if (body === null) {
      if (noBody) h += "\r\n";
      else if (isHead && appLength !== null) h += "Content-Length: " + appLength + "\r\n\r\n";
      else h += "Content-Length: 0\r\n\r\n";
      this.writeStr(h);
      return true;
    }
    if (isHead || noBody) {
      if (isHead && appLength !== null && !noBody) h += "Content-Length: " + appLength + "\r\n";
      h += "\r\n";
      this.writeStr(h);
      body.cancel().catch(() => {});
      return true;
    }
    void this.streamBody(ex, h, body, http10);
    return false;
  }

  private writeKnown(ex: _Exchange, h: string, bytes: Uint8Array, isHead: boolean, noBody: boolean): void {
    if (noBody) {
      this.writeStr(h + "\r\n");
      return;
    }
    h += "Content-Length: " + bytes.length + "\r\n\r\n";
    if (isHead) {
      this.writeStr(h);
      return;
    }
    ex.bytesSent = bytes.length;
    this.writeStr(h, bytes);
  }

  /** Writes a Blob or file body with a Content-Length. Returns true if done synchronously. */
  private writeBlob(ex: _Exchange, h: string, bb: _BlobBody, isHead: boolean, noBody: boolean): boolean {
    const blob = bb.blob;
    if (!(blob instanceof Blob)) {
      // Not settled at once (not seen on Bun 1.4.4): finish when it is.
      blob.then(
        (b) => {
          if (this.closed) return this.done(ex);
          try {
            if (this.writeBlob(ex, h, { blob: b, file: bb.file }, isHead, noBody)) this.done(ex);
          } catch (err) {
            this.failStream(ex, err, false);
          }
        },
        (err: unknown) => this.failStream(ex, err, false),
      );
      return false;
    }
    if (noBody) {
      this.writeStr(h + "\r\n");
      return true;
    }
    if (bb.file === null) {
      const p = blob.bytes();
      if (Bun.peek.status(p) === "fulfilled") {
        this.writeKnown(ex, h, Bun.peek(p) as Uint8Array, isHead, false);
        return true;
      }
      void this.streamKnownLength(ex, h, blob, isHead);
      return false;
    }
    const file = bb.file;
    const fs = _fs();
    const own = file.path !== null;
    const fd = own ? fs.openSync(file.path!, "r") : file.fd;
    const release = (): void => {
      if (own) fs.closeSync(fd);
    };
    let st;
    try {
      st = fs.fstatSync(fd);
    } catch (err) {
      release();
      throw err;
    }
    if (!st.isFile()) {
      release();
      // A directory opens and has a size, but is no body: the app's error, as under Bun.serve.
      if (own) throw new Error(`EISDIR or not a regular file: cannot send ${file.path} as a response body`);
      // A pipe or socket given by fd: read it as a stream.
      void this.streamBody(ex, h, blob.stream(), ex.head !== null && ex.head.versionMinor === 0);
      return false;
    }
    // The size now (the Blob's was taken earlier), never past the end of the file.
    let size = Math.min(blob.size, Math.max(0, st.size - file.offset));
    let offset = file.offset;
    let part: Blob = blob;
    if (ex.status === 200 && !isHead && ex.head !== null && ex.head.method === "GET") {
      // Range requests, as Bun.serve answers them for a file: one range, 200 responses only.
      const range = _resolveRange(headerValue(ex.head.headers, "range"), size);
      const acceptRanges = h.includes("\r\naccept-ranges:") ? "" : "Accept-Ranges: bytes\r\n";
      if (range.kind === "unsatisfiable") {
        release();
        this.writeStr(withStatus(ex, h, 416) + "Content-Range: bytes */" + size + "\r\n" + acceptRanges + "Content-Length: 0\r\n\r\n");
        return true;
      }
      if (range.kind === "part") {
        h = withStatus(ex, h, 206) + "Content-Range: bytes " + range.start + "-" + (range.end - 1) + "/" + size + "\r\n" + acceptRanges;
        ex.resHeaders?.push("Content-Range", `bytes ${range.start}-${range.end - 1}/${size}`);
        if (acceptRanges !== "") ex.resHeaders?.push("Accept-Ranges", "bytes");
        part = blob.slice(range.start, range.end);
        offset += range.start;
        size = range.end - range.start;
      }
    }
    if (isHead || size === 0) {
      release();
      this.writeStr(h + "Content-Length: " + size + "\r\n\r\n");
      return true;
    }
    if (!this.engine.sendfile || !_sendfileAvailable()) {
      release();
      void this.streamKnownLength(ex, h, part.size === size ? part : part.slice(0, size), false);
      return false;
    }
    this.writeStr(h + "Content-Length: " + size + "\r\n\r\n");
    return this.sendFileBody(ex, fd, own, offset, size);
  }

  /**
   * Sends `size` bytes of the open file `fd` from `offset` with sendfile(2). When the socket is
   * full, the next slice is read and written through Bun's socket (whose `drain` then says when
   * to go on: Bun only watches for writability after its own short write). Returns true if done
   * synchronously; otherwise it finishes the exchange itself.
   */
  private sendFileBody(ex: _Exchange, fd: number, ownFd: boolean, offset: number, size: number): boolean {
    const sockFd = (this.socket as unknown as { fd: number }).fd;
    let sent = 0;
    const step = (): boolean => {
      while (sent < size) {
        if (this.closed) return true;
        if (this.out !== null) return false;
        const n = _sendfile(sockFd, fd, offset + sent, size - sent);
        if (n < 0) {
          // The peer gone (EPIPE, ECONNRESET) is no error worth a line; anything else is reported.
          if (n !== -EPIPE && n !== -ECONNRESET) this.engine.reportError(new Error(`sendfile: ${errnoName(-n)}`), ex.req);
          ex.keepAlive = false;
          this.socket.terminate();
          return true;
        }
        sent += n;
        if (sent === size) break;
        // The socket is full (or the file shrank): one slice through Bun arms `drain`.
        const len = Math.min(SENDFILE_SLICE, size - sent);
        const buf = Buffer.allocUnsafe(len);
        const r = _fs().readSync(fd, buf, 0, len, offset + sent);
        if (r <= 0) {
          // The file is shorter than announced: the only honest signal is to cut the connection.
          ex.keepAlive = false;
          this.socket.terminate();
          return true;
        }
        sent += r;
        this.write(r === len ? buf : buf.subarray(0, r));
      }
      return true;
    };
    const finish = (): void => {
      ex.bytesSent = sent;
      if (ownFd) _fs().closeSync(fd);
    };
    try {
      if (step()) {
        finish();
        return true;
      }
    } catch (err) {
      finish();
      throw err;
    }
    void (async () => {
      try {
        for (;;) {
          await this.waitDrain();
          if (step()) break;
        }
      } catch (err) {
        this.engine.reportError(err, ex.req);
        ex.keepAlive = false;
        if (!this.closed) this.socket.terminate();
      }
      finish();
      this.done(ex);
    })();
    return false;
  }

  /** Streams a body of known size (a Blob read through user space) after a Content-Length head. */
  private async streamKnownLength(ex: _Exchange, h: string, blob: Blob, headOnly: boolean): Promise<void> {
    if (headOnly) {
      this.writeStr(h + "Content-Length: " + blob.size + "\r\n\r\n");
      this.done(ex);
      return;
    }
    let headSent = false;
    try {
      const size = blob.size;
      this.writeStr(h + "Content-Length: " + size + "\r\n\r\n");
      headSent = true;
      const reader = _sliceStream(blob).getReader();
      while (ex.bytesSent < size && !this.closed) {
        const r = await reader.read();
        if (r.done) throw new Error(`body ended after ${ex.bytesSent} of ${size} bytes`);
        ex.bytesSent += r.value.length;
        this.write(r.value);
        if (this.out !== null) await this.waitDrain();
      }
    } catch (err) {
      this.failStream(ex, err, headSent);
      return;
    }
    this.done(ex);
  }

  /** A response body failed: a plain 500 if nothing was written yet, else the connection is cut. */
  private failStream(ex: _Exchange, err: unknown, headSent: boolean): void {
    this.engine.reportError(err, ex.req);
    ex.keepAlive = false;
    if (!headSent && !this.closed) {
      ex.errStatus = 500;
      this.writeEngineError(ex);
    } else if (!this.closed) this.socket.terminate();
    this.done(ex);
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  /** Streams a ReadableStream body (chunked, or close-delimited for HTTP/1.0). */
  private async streamBody(ex: _Exchange, h: string, body: ReadableStream, http10: boolean): Promise<void> {
    let headSent = false;
    const reader = body.getReader();
    try {
      const first = await reader.read();
      if (first.done) {
        this.writeStr(h + "Content-Length: 0\r\n\r\n");
        headSent = true;
      } else {
        const c0 = toBytes(first.value);
        if (c0 === null) throw new TypeError("Response stream chunk is not bytes or string");
        // Collect what the stream yields without waiting (each read may take one turn of the event
        // loop), up to PREBUFFER_LIMIT: a file, a blob or a quickly generated body then goes out with
        // a Content-Length; a live stream (SSE, …) starts at once, chunked.
        const pre: Uint8Array[] = [c0];
        let total = c0.length;
        let next = reader.read();
        let ended = false;
        while (total <= PREBUFFER_LIMIT) {
          const r = await settledSoon(next);
          if (r === NOT_YET) break;
          if (r.done) {
            ended = true;
            break;
          }
          const c = toBytes(r.value);
          if (c === null) throw new TypeError("Response stream chunk is not bytes or string");
          pre.push(c);
          total += c.length;
          next = reader.read();
        }
        if (this.closed) {
          reader.cancel().catch(() => {});
          this.done(ex);
          return;
        }
        if (ended) {
          headSent = true;
          this.writeKnown(ex, h, pre.length === 1 ? c0 : Buffer.concat(pre, total), false, false);
          this.done(ex);
          return;
        }
        if (http10) {
          ex.keepAlive = false;
          if (!h.includes("Connection: close")) h += "Connection: close\r\n";
          this.writeStr(h + "\r\n");
        } else {
          this.writeStr(h + "Transfer-Encoding: chunked\r\n\r\n");
        }
        headSent = true;
        for (let i = 0; i < pre.length - 1; i++) {
          const c = pre[i]!;
          if (c.length === 0) continue;
          ex.bytesSent += c.length;
          if (http10) this.write(c);
          else this.writeChunk(c);
        }
        let chunk = pre[pre.length - 1]!;
        for (;;) {
          if (this.closed) {
            reader.cancel().catch(() => {});
            break;
          }
          if (chunk.length > 0) {
            ex.bytesSent += chunk.length;
            if (http10) this.write(chunk);
            else this.writeChunk(chunk);
            if (this.out !== null) await this.waitDrain();
          }
          const r = await next;
          if (r.done) break;
          const c = toBytes(r.value);
          if (c === null) throw new TypeError("Response stream chunk is not bytes or string");
          chunk = c;
          next = reader.read();
        }
        if (!http10 && !this.closed) this.writeStr("0\r\n\r\n");
      }
    } catch (err) {
      this.engine.reportError(err, ex.req);
      reader.cancel().catch(() => {});
      if (!headSent && !this.closed) {
        ex.keepAlive = false;
        ex.errStatus = 500;
        this.writeEngineError(ex);
      } else {
        // Mid-stream failure: the only honest signal is to cut the connection.
        ex.keepAlive = false;
        if (!this.closed) this.socket.terminate();
      }
    }
    this.done(ex);
  }

  private writeChunk(chunk: Uint8Array): void {
    const size = chunk.length.toString(16);
    const sl = size.length;
    const len = chunk.length;
    const total = sl + 4 + len;
    const sc = scratchFor(total);
    if (sc === null) {
      this.writeStr(size + "\r\n", chunk);
      this.writeStr("\r\n");
      return;
    }
    sc.write(size, 0, sl, "latin1");
    sc[sl] = 13;
    sc[sl + 1] = 10;
    sc.set(chunk, sl + 2);
    sc[sl + 2 + len] = 13;
    sc[sl + 3 + len] = 10;
    this.writeScratch(total);
  }

  /** A streamed exchange finished: account and continue with the queue. */
  private done(ex: _Exchange): void {
    if (ex.state === EX_DONE) return;
    this.finish(ex);
    this.pump();
  }

  /** Accounting for a finished exchange; removes it from the queue head. */
  private finish(ex: _Exchange): void {
    if (ex.state === EX_DONE) return;
    ex.state = EX_DONE;
    if (this.queue[0] === ex) this.queue.shift();
    else {
      const i = this.queue.indexOf(ex);
      if (i >= 0) this.queue.splice(i, 1);
    }
    const engine = this.engine;
    engine.inFlight--;
    engine.requestsServed++;
    this.served++;
    // An exchange that sent nothing (its client left first) is not logged, as in Gunicorn.
    if (engine.onResponse !== null && ex.status !== 0) engine.record(ex);
    if (this.closed) return;
    // A body the app did not read: drain small ones, otherwise close.
    if (this.bodyEx === ex) {
      const c = ex.bodyCtl;
      ex.bodyCtl = null;
      this.bodyEx = null;
      if (c !== null) {
        try {
          c.close();
        } catch {
          /* already closed */
        }
      }
      if (this.bodyMode === BODY_CHUNKED || this.bodyRemaining > MAX_DRAIN || ex.continuePending) ex.keepAlive = false;
    }
    if (!ex.keepAlive) {
      // "Connection: close" was sent: nothing may follow, even for pipelined requests already read
      // (they are accounted when their handlers finish).
      this.closeSoon();
      return;
    }
    if (engine.stopping) this.readDone = true;
    if (this.queue.length === 0) {
      if (this.readDone || (this.peerEnded && this.parser.buffered === 0 && this.bodyMode === BODY_NONE)) {
        this.closeSoon();
        return;
      }
      if (!this.inProcess) this.updateDeadline();
    }
    if (this.paused && !this.inProcess) queueMicrotask(() => this.unblock());
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.queue.length === 0) this.closeSoon();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline = 0;
    this.out = null;
    for (const ex of this.queue) {
      if (ex.ac !== null && ex.state !== EX_DONE) ex.ac.abort(new DOMException("The connection was closed.", "AbortError"));
    }
    const be = this.bodyEx;
    if (be !== null && be.bodyCtl !== null) {
      try {
        be.bodyCtl.error(new DOMException("The connection was closed.", "AbortError"));
      } catch {
        /* closed */
      }
      be.bodyCtl = null;
    }
    this.bodyEx = null;
    this.bodyMode = BODY_NONE;
    // A body still being collected: its app never ran; account the exchange with the others.
    const bx = this.bufEx;
    this.bufEx = null;
    this.bufBody = null;
    if (bx !== null && bx.state === EX_APP) {
      bx.errStatus = 400;
      bx.state = EX_READY;
    }
    const w = this.drainWaiter;
    this.drainWaiter = null;
    if (w !== null) w();
    // Exchanges whose app is done are accounted now; running ones when they finish.
    this.pump();
    this.engine.connClosed(this);
  }
}

// ---- engine ------------------------------------------------------------------------

const handlers: SocketHandler<_Conn> = {
  open(socket) {
    // `data` given to Bun.listen is each accepted socket's initial `data`.
    const engine = socket.data as unknown;
    if (engine instanceof _Engine) engine.connOpened(socket);
    else socket.terminate();
  },
  data(socket, chunk) {
    const c = socket.data;
    if (c !== undefined) c.onData(chunk);
  },
  drain(socket) {
    const c = socket.data;
    if (c !== undefined) c.onDrain();
  },
  end(socket) {
    const c = socket.data;
    if (c !== undefined) c.onEnd();
  },
  close(socket) {
    const c = socket.data;
    if (c !== undefined) c.onClose();
  },
  error() {
    // `close` follows.
  },
};

/** The same handlers, with a PROXY header expected before the first request. */
const proxyHandlers: SocketHandler<_Conn> = {
  ...handlers,
  data(socket, chunk) {
    const c = socket.data;
    if (c === undefined) return;
    if (c.proxyPending) c.onProxyData(chunk);
    else c.onData(chunk);
  },
};

class _Engine implements HttpEngine {
  readonly cfg: EngineConfig;
  readonly app: HttpEngineOptions["fetch"];
  readonly onResponse: ((record: ResponseRecord) => void) | null;
  readonly onError: ((err: unknown, req: Request | null) => void) | null;
  /** The PROXY header expected on each connection, or null when none is. */
  readonly proxyMode: ProxyMode | null;
  readonly proxyAllowed: (address: string) => boolean;
  /** File bodies go out with sendfile(2) where the platform has it (loaded on first use). */
  readonly sendfile: boolean;
  readonly conns = new Set<_Conn>();
  inFlight = 0;
  requestsServed = 0;
  stopping = false;
  private listener: SocketListener<_Engine> | null = null;
  private sweepTimer: ReturnType<typeof setInterval>;
  private stopWaiters: (() => void)[] = [];

  constructor(target: HttpTarget, o: HttpEngineOptions) {
    if (typeof o.fetch !== "function") throw new TypeError("serveHttp: options.fetch must be a function");
    const keepalive = Math.max(0, o.keepalive ?? 2);
    const maxBodyOpt = o.maxRequestBodySize ?? DEFAULT_MAX_BODY;
    this.cfg = {
      parser: resolveParserOptions(o),
      keepalive,
      headerTimeoutMs: (o.headerTimeout !== undefined && o.headerTimeout > 0 ? o.headerTimeout : Math.max(10, keepalive)) * 1000,
      maxInFlight: Math.max(1, o.maxInFlight ?? 1000),
      maxBody: maxBodyOpt <= 0 ? Infinity : maxBodyOpt,
    };
    this.app = o.fetch;
    this.onResponse = o.onResponse ?? null;
    this.onError = o.onError ?? null;
    const pp = o.proxyProtocol ?? false;
    if (pp !== false && pp !== "v1" && pp !== "v2" && pp !== "auto") throw new TypeError(`serveHttp: options.proxyProtocol must be false, "v1", "v2" or "auto"`);
    this.proxyMode = pp === false ? null : pp;
    this.proxyAllowed = ipMatcher(o.proxyAllowIps ?? ["127.0.0.1", "::1"]);
    this.sendfile = o.sendfile !== false;

    const opts: Record<string, unknown> = { socket: this.proxyMode === null ? handlers : proxyHandlers, data: this };
    if ("fd" in target) opts.fd = target.fd;
    else if ("unix" in target) opts.unix = target.unix;
    else {
      opts.hostname = target.hostname;
      opts.port = target.port;
    }
    this.listener = Bun.listen(opts as unknown as Parameters<typeof Bun.listen<_Engine>>[0]) as SocketListener<_Engine>;
    acquireClock();
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
  }

  /** Port of a TCP listener (0 for fd/unix listeners where unknown). */
  get port(): number {
    return (this.listener as unknown as { port?: number } | null)?.port ?? 0;
  }

  get connections(): number {
    return this.conns.size;
  }

  connOpened(socket: Socket<_Conn>): void {
    const c = new _Conn(this, socket);
    socket.data = c;
    this.conns.add(c);
    if (this.stopping) this.closeUnlessFirstRequest(c);
  }

  /**
   * Graceful stop: a connection that has not sent its first request yet was accepted just
   * before the listener closed; closing it now would fail that client. Give it a moment to send
   * its request (answered with `Connection: close`), then close it.
   */
  private closeUnlessFirstRequest(c: _Conn): void {
    if (c.served > 0 || c.hasPartialInput() || c.queue.length > 0) {
      c.closeSoon();
      return;
    }
    setTimeout(() => {
      if (!c.closed && c.queue.length === 0 && c.served === 0 && !c.hasPartialInput()) c.closeSoon();
    }, FIRST_REQUEST_GRACE_MS);
  }

  connClosed(c: _Conn): void {
    this.conns.delete(c);
    if (this.stopping && this.conns.size === 0) this.resolveStop();
  }

  reportError(err: unknown, req: Request | null): void {
    const f = this.onError;
    if (f === null) return;
    try {
      f(err, req);
    } catch {
      /* a failing logger must not take the worker down */
    }
  }

  record(ex: _Exchange): void {
    const head = ex.head;
    const conn = ex.conn;
    const target = head !== null ? head.target : "";
    const q = target.indexOf("?");
    const rec: ResponseRecord = {
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
    try {
      this.onResponse!(rec);
    } catch {
      /* ignore */
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of this.conns) {
      if (c.deadline > 0 && now >= c.deadline && !c.closed) {
        c.deadline = 0;
        c.readDone = true;
        c.socket.end();
      }
    }
  }

  requestIP(req: Request): { address: string; family: string; port: number } | null {
    const ex = (req as unknown as Record<symbol, _Exchange | undefined>)[kEx];
    if (ex === undefined) return null;
    const conn = ex.conn;
    const address = conn.peerAddress();
    if (!address) return null;
    return { address, family: conn.peerFamily(), port: conn.peerPort() };
  }

  stop(graceful = true): Promise<void> {
    const p = new Promise<void>((resolve) => {
      this.stopWaiters.push(resolve);
    });
    if (!this.stopping) {
      this.stopping = true;
      clearInterval(this.sweepTimer);
      releaseClock();
      const l = this.listener;
      this.listener = null;
      if (l !== null) l.stop(false);
      for (const c of this.conns) {
        if (!graceful) {
          c.readDone = true;
          c.socket.terminate();
        } else if (c.queue.length === 0) {
          this.closeUnlessFirstRequest(c);
        } else {
          c.readDone = true;
        }
      }
    } else if (!graceful) {
      for (const c of this.conns) c.socket.terminate();
    }
    if (this.conns.size === 0) this.resolveStop();
    return p;
  }

  private resolveStop(): void {
    const w = this.stopWaiters;
    this.stopWaiters = [];
    for (const f of w) f();
  }
}

/**
 * Serves `options.fetch` over HTTP/1.1 on `target` (an inherited listening fd,
 * a TCP address, or a unix socket path) with bunicorn's own engine.
 *
 * @example
 * ```ts
 * const engine = serveHttp({ fd: 3 }, { fetch: () => new Response("hi") });
 * process.on("SIGTERM", () => engine.stop().then(() => process.exit(0)));
 * ```
 */
export function serveHttp(target: HttpTarget, options: HttpEngineOptions): HttpEngine & { readonly port: number } {
  return new _Engine(target, options);
}
