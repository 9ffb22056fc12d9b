/**
 * bunicorn's own HTTP/1.1 engine ("shared-socket mode").
 *
 * `Bun.serve` cannot serve an inherited listening fd, so in shared-socket mode
 * each worker serves the arbiter's socket with `Bun.listen({ fd })` and this
 * engine: bytes → {@link HttpRequestParser} → Web `Request` → the app's
 * `fetch(req, engine)` → `Response` → bytes.
 *
 * Where things are: public types and options in `types.ts`; the exchange, its states and the
 * app's `Request` in `_exchange.ts`; request-body readers in `_request-body.ts`; the connection's
 * outbound buffer in `_output.ts`; response writers behind one dispatch in `_write-response.ts`
 * (`_write-buffer.ts`, `_write-blob.ts`, `_write-stream.ts`); the PROXY handshake in
 * `proxy-protocol.ts`; the listener, the sweep and stop in `_server.ts`; the socket handlers and
 * `serveHttp` in `serve.ts`; what the engine does, as its users see it, in `types.ts`. This file
 * holds the connection loop: reading and parsing, the pipeline queue, and timeouts.
 *
 * @module
 */
import type { Socket } from "bun";
import { BodyClock, bodyTimedOut } from "./body-timeout.ts";
import { ChunkedDecoder } from "./chunked.ts";
import { HttpError, LimitRequestHeaders } from "./errors.ts";
import { buildRequest, connectionClosed, EX_APP, EX_DONE, EX_READY, EX_WRITING, Exchange } from "./_exchange.ts";
import { FIELDS_REFUSE, SCHEME_HTTPS, SCHEME_NONE } from "./forwarding.ts";
import { requestCarriesMethod } from "./methods.ts";
import { Output } from "./_output.ts";
import { HttpRequestParser, type RequestHead } from "./parser.ts";
import { ProxyHandshake } from "./proxy-protocol.ts";
import { BUFFER_BODY_MAX, BufferedBody, ChunkedBody, LengthBody, MAX_DRAIN, type BodyOwner, type RequestBody } from "./_request-body.ts";
import type { Server } from "./_server.ts";
import { writePlainError } from "./_write-buffer.ts";
import { writeResponse } from "./_write-response.ts";

/** Requests read ahead of their responses on one connection; reading pauses beyond it. */
const MAX_PIPELINE = 16;
/**
 * Response bytes queued for a client that does not read them (the socket full) beyond which no
 * further request of the connection is read until they drain: finished responses are not counted
 * by {@link MAX_PIPELINE}, so without this one pipelining client could pile up gigabytes.
 */
const MAX_QUEUED_OUTPUT = 1024 * 1024;
/**
 * An incomplete request head up to this size is always buffered; a larger one must fit in the
 * engine's `maxBufferedHeads` (the total of every connection's incomplete head), else it is a 431.
 * 16 KiB is Bun.serve's whole head limit, so no head reuse-port mode accepts is refused here.
 */
const HEAD_ALWAYS_BUFFERED = 16 * 1024;
const CONTINUE_LINE = "HTTP/1.1 100 Continue\r\n\r\n";

/** Who owns a socket after a 101 (a WebSocket): the socket handlers below call it as they call a Conn. */
export interface SocketOwner {
  /** Always null: a PROXY header only comes before the first request. */
  readonly proxy: null;
  onData(chunk: Uint8Array): void;
  onDrain(): void;
  onEnd(): void;
  onClose(): void;
}

/** One connection: its read loop, its pipeline of exchanges, and its output. Stored in `socket.data`. */
export class Conn implements BodyOwner {
  readonly parser: HttpRequestParser;
  /** Exchanges in request order; the first is the one being written (or next to be). */
  readonly queue: Exchange[] = [];
  readonly output: Output;
  closed = false;
  /** No more requests are read (after a close-delimited exchange or a parse error). */
  readDone = false;
  /** Input not yet processed while reading is blocked. */
  private stash: Uint8Array | null = null;
  private paused = false;
  private inProcess = false;
  /** Bytes of this connection's incomplete head counted in the server's `headBytes`. */
  private headHeld = 0;
  /** When the connection is closed for silence (0: never, while a response is pending). */
  deadline: number;
  /** When the connection last became idle (accepted, or its last response sent): a graceful stop's grace counts from it (`drain.ts`). */
  private idleAt: number;
  private headDeadline = 0;
  private peerEnded = false;
  /** The request body being received; a detached one is read and dropped. */
  private body: RequestBody | null = null;
  /** `body_timeout`/`body_min_rate` for the connection's bodies (created with the first one), the body it times, and its bytes. */
  private bodyClock: BodyClock | null = null;
  private clocked: RequestBody | null = null;
  private bodyBytes = 0;
  /** Reused by every chunked body of the connection. */
  private chunkDecoder: ChunkedDecoder | null = null;
  private authority: string | null = null;
  /** Exchanges finished on this connection. */
  served = 0;
  /** The peer, read from the socket once per connection (a native getter builds a new string each time), or the PROXY header's source. */
  private peerAddr: string | null = null;
  private peerPortNo = -1;
  private peerFam: string | null = null;
  /** {@link trustsForwarder}: -1 not looked up yet, 0 no, 1 yes. */
  private fwdTrust = -1;
  /** The PROXY header still expected (only with the proxyProtocol option). */
  proxy: ProxyHandshake | null = null;
  /** Who owns the socket after a 101 (a WebSocket), or null. */
  private next: SocketOwner | null = null;

  constructor(
    readonly server: Server,
    readonly socket: Socket<Conn>,
  ) {
    this.parser = new HttpRequestParser(server.cfg.parser);
    this.output = new Output(socket);
    this.idleAt = performance.now();
    this.deadline = this.idleAt + server.cfg.headerTimeoutMs;
    const mode = server.proxyMode;
    if (mode !== null) {
      const peer = this.peerAddress();
      // Unix-socket peers (no address) are always allowed.
      this.proxy = new ProxyHandshake(mode, peer === "" || server.proxyAllowed(peer));
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

  /** Whether the peer is a trusted forwarder (`forwardedAllowIps`; a unix peer always is), looked up once. */
  trustsForwarder(): boolean {
    if (this.fwdTrust < 0) this.fwdTrust = this.server.forwarding.trusts(this.peerAddress()) ? 1 : 0;
    return this.fwdTrust === 1;
  }

  /** Bytes of a request (or PROXY header) received but not complete yet. */
  hasPartialInput(): boolean {
    return this.parser.buffered > 0 || (this.proxy !== null && this.proxy.partial);
  }

  /** Input while the PROXY header is expected; the rest goes to {@link onData}. */
  onProxyData(chunk: Uint8Array): void {
    const r = this.proxy!.feed(chunk);
    if (r.state === "need-more") return;
    this.proxy = null;
    if (r.state === "refused") {
      this.protocolError(r.error);
      this.updateDeadline();
      return;
    }
    const src = r.source;
    if (src !== null) {
      this.peerAddr = src.address;
      this.peerPortNo = src.port;
      this.peerFam = src.family;
    }
    if (r.rest !== null) this.onData(r.rest);
  }

  /**
   * A 101 for `ex` (the connection's only exchange) was written: `ex` is accounted (the access
   * log gets its line), this connection is done, and from now on the socket's events, and any
   * bytes read after the head, go to `next`.
   */
  handOver(ex: Exchange, next: SocketOwner): void {
    this.next = next;
    this.readDone = true;
    this.closed = true;
    this.deadline = 0;
    this.socket.data = next as unknown as Conn;
    this.finish(ex);
    this.server.connClosed(this);
  }

  /**
   * When the connection became idle: nothing being read or answered, nothing left to send; -1
   * when it is not idle. A graceful stop closes it once it has been idle for its grace (`drain.ts`).
   */
  idleSince(): number {
    if (this.closed || this.readDone || this.queue.length > 0 || this.body !== null || this.stash !== null || this.output.pending || this.hasPartialInput()) return -1;
    return this.idleAt;
  }

  /**
   * During a graceful stop, whether `ex`'s response ends the connection (`Connection: close`):
   * it does when no request read after it waits for an answer, so pipelined requests already
   * read are all answered, and the last answer says the connection closes.
   */
  closesOnStop(ex: Exchange): boolean {
    return this.server.stopping && this.queue[this.queue.length - 1] === ex;
  }

  /** Ends the connection after pending output. */
  closeSoon(): void {
    this.readDone = true;
    if (!this.closed) this.output.end();
  }

  // ---- reading

  onData(chunk: Uint8Array): void {
    // Bytes after the last request we will answer are dropped, except a body still being consumed.
    if (this.readDone && this.body === null) return;
    if (this.paused) {
      // Should not happen (socket paused), but keep the bytes in order.
      this.stash = this.stash === null ? chunk : Buffer.concat([this.stash, chunk]);
      return;
    }
    this.process(chunk, 0);
  }

  /** Parses and dispatches as much of `buf[pos:]` as possible. */
  private process(buf: Uint8Array, pos: number): void {
    this.inProcess = true;
    try {
      const len = buf.length;
      while (pos < len) {
        if (this.body !== null) {
          pos = this.consumeBody(this.body, buf, pos);
          if (this.body !== null) break;
          continue;
        }
        if (this.readDone) break;
        if (this.queue.length >= MAX_PIPELINE || this.closed || this.output.queued > MAX_QUEUED_OUTPUT) {
          this.block(buf, pos);
          break;
        }
        const wasEmpty = this.parser.buffered === 0;
        const end = this.parser.feed(buf, pos);
        if (end < 0) {
          if (wasEmpty) this.headDeadline = performance.now() + this.server.cfg.headerTimeoutMs;
          this.holdHead();
          break;
        }
        // A head that came in several reads: its bytes leave the server's count.
        if (!wasEmpty) this.releaseHead();
        pos = this.dispatch(this.parser.head!, buf, end);
        if (this.next !== null) {
          // Upgraded (a WebSocket): what follows the head is the new protocol's.
          if (pos < len) this.next.onData(buf.subarray(pos));
          break;
        }
      }
    } catch (err) {
      this.protocolError(err);
    }
    this.inProcess = false;
    // Stopping: the answers to what this read brought were held back until all of it was parsed,
    // so that only the last one says `Connection: close` (closesOnStop).
    if (this.server.stopping && !this.closed) this.pump();
    // Paused for body backpressure, but the body ended (or was dropped) meanwhile: read again.
    if (this.paused && this.canRead()) {
      if (this.stash === null) {
        this.paused = false;
        this.socket.resume();
      } else queueMicrotask(() => this.unblock());
    }
    this.updateDeadline();
  }

  /**
   * Counts the incomplete head's bytes in the server's `headBytes`; throws a 431 for a head over
   * {@link HEAD_ALWAYS_BUFFERED} while the total is over `maxBufferedHeads`.
   */
  private holdHead(): void {
    const held = this.parser.buffered;
    const server = this.server;
    server.headBytes += held - this.headHeld;
    this.headHeld = held;
    if (held > HEAD_ALWAYS_BUFFERED && server.headBytes > server.cfg.maxBufferedHeads) {
      throw new LimitRequestHeaders("Request header fields too large: the worker's buffer for incomplete heads is full");
    }
  }

  /** This connection holds no incomplete head any more. */
  private releaseHead(): void {
    this.server.headBytes -= this.headHeld;
    this.headHeld = 0;
  }

  private block(buf: Uint8Array, pos: number): void {
    const rest = pos === 0 ? buf : buf.subarray(pos);
    this.stash = this.stash === null ? rest : Buffer.concat([rest, this.stash]);
    this.pauseReading();
  }

  /** BodyOwner: stops reading from the socket. */
  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Whether input may be read now (pipeline not full, responses being read, request body not backpressured). */
  private canRead(): boolean {
    if (this.closed || this.queue.length >= MAX_PIPELINE) return false;
    const b = this.body;
    // Between requests, unread responses hold the next one back; a body in progress goes on.
    if (b === null) return this.output.queued <= MAX_QUEUED_OUTPUT;
    return !b.streamed || b.wantsInput;
  }

  /** BodyOwner: continues with stashed input once reading may go on. */
  unblock(): void {
    if (!this.paused || this.inProcess || !this.canRead()) return;
    this.paused = false;
    this.socket.resume();
    const s = this.stash;
    this.stash = null;
    if (s !== null) this.process(s, 0);
    // A body's bytes are awaited again (the app pulled): its clock runs.
    else if (this.body !== null) this.updateDeadline();
  }

  updateDeadline(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.body !== null) this.deadline = this.bodyDeadline(this.body, now);
    else if (this.parser.buffered > 0) this.deadline = this.headDeadline;
    // Not idle while responses are still going out (their stall is `sendTimeout`'s).
    else if (this.queue.length > 0 || this.output.pending) this.deadline = 0;
    else {
      this.idleAt = now;
      this.deadline = now + this.server.cfg.keepalive * 1000;
    }
  }

  /**
   * `b`'s deadline under `body_timeout`/`body_min_rate` (0: none): its clock runs only while its
   * bytes are awaited, not while the app leaves its stream full or a `100 Continue` is still due.
   */
  private bodyDeadline(b: RequestBody, now: number): number {
    const clock = this.clockFor(b);
    if (clock === null) return 0;
    const ex = b.ex;
    return clock.update(now, this.bodyBytes, !this.paused && !(ex !== null && ex.continuePending));
  }

  /** The clock timing `b` (reset for a new body), or null when the policy is off. */
  private clockFor(b: RequestBody): BodyClock | null {
    const policy = this.server.cfg.bodyPolicy;
    if (policy === null) return null;
    const clock = (this.bodyClock ??= new BodyClock(policy));
    if (this.clocked !== b) {
      this.clocked = b;
      this.bodyBytes = 0;
      clock.reset();
    }
    return clock;
  }

  /**
   * The sweep: {@link deadline} has passed. A request body too slow (`body_timeout`,
   * `body_min_rate`) fails the app's stream and gets a 408 with a close; anything else (a silent
   * connection, a partial head, an idle keep-alive) is closed.
   */
  expire(): void {
    this.deadline = 0;
    if (this.body !== null) {
      this.protocolError(bodyTimedOut());
      return;
    }
    this.readDone = true;
    this.socket.end();
  }

  /** Queues an exchange for a parsed head and starts its app (or its body); returns the position after what it consumed. */
  private dispatch(head: RequestHead, buf: Uint8Array, pos: number): number {
    const server = this.server;
    const cfg = server.cfg;
    // While stopping, the writer decides whether this one closes the connection (closesOnStop).
    const keepAlive = head.keepAlive && cfg.keepalive > 0 && head.method !== "CONNECT";
    const ex = new Exchange(this, head, keepAlive);
    this.queue.push(ex);
    server.inFlight++;
    if (!keepAlive) this.readDone = true;
    // A method a `Request` cannot carry (Bun would make it GET): 501, never another method (methods.ts).
    if (head.method !== "GET" && !requestCarriesMethod(head.method)) {
      this.engineError(ex, 501);
      return buf.length;
    }

    // A trusted proxy's scheme headers, and header names with `_` (forwarding.ts): a 400 when refused.
    const fwd = server.forwarding;
    if (head.underscore || fwd.schemeNames.length > 0) {
      const r = fwd.applyToFields(head.headers, this.trustsForwarder(), head.underscore);
      if (r === FIELDS_REFUSE) {
        this.engineError(ex, 400);
        return buf.length;
      }
      if (r !== SCHEME_NONE) head.forwardedScheme = r === SCHEME_HTTPS ? "https://" : "http://";
    }
    if (server.inFlight > cfg.maxInFlight) {
      this.engineError(ex, 503);
      return buf.length;
    }
    const cl = head.contentLength;
    if (cl > cfg.maxBody) {
      this.engineError(ex, 413);
      return buf.length;
    }
    if (head.chunked) {
      const dec = this.chunkDecoder;
      if (dec === null) this.chunkDecoder = new ChunkedDecoder(cfg.parser.limitRequestFields, cfg.parser.limitRequestFieldSize);
      else dec.reset();
      const body = new ChunkedBody(ex, this, cfg.maxBody, this.chunkDecoder!);
      this.body = body;
      return this.startApp(ex, head, body.stream) ? pos : buf.length;
    }
    if (cl <= 0) return this.startApp(ex, head, null) ? pos : buf.length;
    if (buf.length - pos >= cl) return this.startApp(ex, head, buf.subarray(pos, pos + cl)) ? pos + cl : buf.length;
    if (cl <= BUFFER_BODY_MAX) {
      this.body = new BufferedBody(ex, Buffer.allocUnsafe(cl), buf.subarray(pos));
      if (head.expectContinue) this.sendContinue(ex);
      return buf.length;
    }
    const body = new LengthBody(ex, this, cfg.maxBody, cl);
    this.body = body;
    return this.startApp(ex, head, body.stream) ? pos : buf.length;
  }

  /** `100 Continue` now if `ex` is first in line, else when it is. */
  private sendContinue(ex: Exchange): void {
    if (this.queue.length === 1) this.output.writeHead(CONTINUE_LINE);
    else ex.continuePending = true;
  }

  /** Builds the Request and runs the app. False when the Request could not be built (a 400 is queued). */
  private startApp(ex: Exchange, head: RequestHead, body: Uint8Array | ReadableStream<Uint8Array> | null): boolean {
    const server = this.server;
    let req: Request;
    try {
      req = buildRequest(ex, head, this.url(head), body);
    } catch {
      const b = this.body;
      if (b !== null && b.streamed && b.ex === ex) b.detach();
      this.engineError(ex, 400);
      return false;
    }
    // A body that streams is still to come: the client may be waiting for the go-ahead.
    if (head.expectContinue && body instanceof ReadableStream) this.sendContinue(ex);

    let r: unknown;
    try {
      r = server.app(req, server);
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

  /** Feeds request body bytes to `body`; returns the new position. */
  private consumeBody(body: RequestBody, buf: Uint8Array, pos: number): number {
    const from = pos;
    try {
      pos = body.feed(buf, pos);
    } catch (err) {
      this.bodyFailed(err);
      return buf.length;
    }
    // Bytes on the wire, for body_min_rate.
    if (this.clockFor(body) !== null) this.bodyBytes += pos - from;
    if (!body.done) return pos;
    this.body = null;
    this.clocked = null;
    if (body.streamed) body.detach();
    else this.startApp(body.ex, body.ex.head!, body.bytes);
    return pos;
  }

  /** A malformed or too large body: error the app's stream and answer with the error status if possible. */
  private bodyFailed(err: unknown): void {
    const status = err instanceof HttpError ? err.status : 400;
    const b = this.body;
    this.body = null;
    this.readDone = true;
    const ex = b === null ? null : b.ex;
    if (ex === null) {
      this.closeSoon();
      return;
    }
    ex.keepAlive = false;
    if (b!.streamed) b!.fail(err);
    if (ex.state === EX_APP) this.engineError(ex, status);
  }

  /**
   * Whether `ex`'s request body is still arriving and too much to drain after its response: a
   * chunked or large rest, or one the client waits to send (`100 Continue` not sent). The
   * connection then closes after the response.
   */
  unreadBodyForbidsKeepAlive(ex: Exchange): boolean {
    const b = this.body;
    return b !== null && b.streamed && b.ex === ex && (b.remaining > MAX_DRAIN || ex.continuePending);
  }

  /** Answers a request with a plain status instead of (or ahead of) the app. */
  engineError(ex: Exchange, status: number): void {
    ex.keepAlive = false;
    this.readDone = true;
    ex.errStatus = status;
    ex.res = null;
    ex.state = EX_READY;
    this.pump();
  }

  /** A parse error: queue a plain error response and close after it. */
  private protocolError(err: unknown): void {
    if (!(err instanceof HttpError)) this.server.reportError(err, null);
    this.readDone = true;
    this.parser.reset();
    this.releaseHead();
    if (this.body !== null) {
      this.bodyFailed(err);
      return;
    }
    const ex = new Exchange(this, null, false);
    this.queue.push(ex);
    this.server.inFlight++;
    ex.errStatus = err instanceof HttpError ? err.status : 400;
    ex.state = EX_READY;
    this.pump();
  }

  private appFailed(ex: Exchange, err: unknown): void {
    this.server.reportError(err, ex.req);
    if (ex.state !== EX_APP) return;
    ex.errStatus = 500;
    ex.state = EX_READY;
    this.pump();
  }

  private respond(ex: Exchange, res: unknown): void {
    if (ex.state !== EX_APP) return; // engine already answered (e.g. 413)
    if (!(res instanceof Response)) {
      this.appFailed(ex, new TypeError(`fetch handler returned ${res === null ? "null" : typeof res}, expected a Response`));
      return;
    }
    ex.res = res;
    ex.state = EX_READY;
    // Stopping: requests still being parsed from the same read go first (see process()).
    if (this.queue[0] === ex && !(this.inProcess && this.server.stopping)) this.pump();
  }

  private url(head: RequestHead): string {
    // Raw UTF-8 bytes in the target (decoded latin-1 by the parser) are read as UTF-8, invalid
    // ones as U+FFFD, so the URL percent-encodes each once, as Bun.serve does (`/\xc3\xa0` is `/%C3%A0`).
    const t = head.targetNonAscii ? Buffer.from(head.target, "latin1").toString("utf8") : head.target;
    const c = t.charCodeAt(0);
    const scheme = head.forwardedScheme ?? this.server.scheme;
    if (c === 47 /* / */) return scheme + (head.host || this.defaultAuthority()) + t;
    if (head.method === "CONNECT") return scheme + t + "/";
    if (c === 42 /* * */ && t.length === 1) return scheme + (head.host || this.defaultAuthority()) + "/";
    return t; // absolute-form keeps its own authority
  }

  private defaultAuthority(): string {
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

  // ---- the pipeline

  /** Writes ready responses in order. */
  private pump(): void {
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
          this.output.writeHead(CONTINUE_LINE);
        }
        return;
      }
      if (ex.state !== EX_READY) return;
      if (ex.errStatus !== 0) {
        writePlainError(this, ex);
        this.finish(ex);
        continue;
      }
      ex.state = EX_WRITING;
      let sync: boolean;
      try {
        sync = writeResponse(this, ex, ex.res!);
      } catch (err) {
        // Reading the app's Response failed before anything was written (e.g. a consumed body):
        // a plain 500, and the connection stays usable.
        this.server.reportError(err, ex.req);
        ex.errStatus = 500;
        writePlainError(this, ex);
        sync = true;
      }
      if (!sync) return; // the body's writer calls done() when it finishes
      this.finish(ex);
    }
  }

  /** An exchange whose writer finished on its own: account it and go on with the queue. */
  done(ex: Exchange): void {
    if (ex.state === EX_DONE) return;
    this.finish(ex);
    this.pump();
  }

  /** Accounting for a finished exchange; removes it from the queue head. */
  private finish(ex: Exchange): void {
    if (ex.state === EX_DONE) return;
    ex.state = EX_DONE;
    if (this.queue[0] === ex) this.queue.shift();
    else {
      const i = this.queue.indexOf(ex);
      if (i >= 0) this.queue.splice(i, 1);
    }
    const server = this.server;
    server.inFlight--;
    server.requestsServed++;
    this.served++;
    // An exchange that sent nothing (its client left first) is not logged, as in Gunicorn.
    if (server.onResponse !== null && ex.status !== 0) server.record(ex);
    if (this.closed) return;
    // A body the app did not read: drain small ones, otherwise close.
    const b = this.body;
    if (b !== null && b.streamed && b.ex === ex) {
      if (this.unreadBodyForbidsKeepAlive(ex)) ex.keepAlive = false;
      b.detach();
    }
    if (!ex.keepAlive) {
      // "Connection: close" was sent: nothing may follow, even for pipelined requests already read
      // (they are accounted when their handlers finish).
      this.closeSoon();
      return;
    }
    // Stopping: nothing is read after the requests already queued (the last one's answer closes).
    // With none queued (a response that began before the stop), the connection is idle: its
    // next request within the grace is answered (drain.ts).
    if (server.stopping && this.queue.length > 0) this.readDone = true;
    if (this.queue.length === 0) {
      if (this.readDone || (this.peerEnded && this.parser.buffered === 0 && this.body === null)) {
        this.closeSoon();
        return;
      }
      if (!this.inProcess) this.updateDeadline();
    }
    if (this.paused && !this.inProcess) queueMicrotask(() => this.unblock());
  }

  // ---- socket events

  onDrain(): void {
    const out = this.output;
    out.onDrain();
    if (this.inProcess || this.closed) return;
    // Responses the client had left unread are going out: read its next requests.
    if (this.paused && out.queued <= MAX_QUEUED_OUTPUT) this.unblock();
    // Everything sent: the connection's idle time starts now.
    if (!out.pending && this.deadline === 0 && this.body === null && this.queue.length === 0) this.updateDeadline();
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.queue.length === 0) this.closeSoon();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline = 0;
    this.output.close();
    // Input held for later goes now, an incomplete head with its share of the server's budget.
    this.stash = null;
    this.parser.reset();
    this.releaseHead();
    for (const ex of this.queue) {
      if (ex.ac !== null && ex.state !== EX_DONE) ex.ac.abort(connectionClosed());
    }
    const b = this.body;
    this.body = null;
    if (b !== null) {
      if (b.streamed) b.fail(connectionClosed());
      else if (b.ex.state === EX_APP) {
        // A body still being collected: its app never ran; account the exchange with the others.
        b.ex.errStatus = 400;
        b.ex.state = EX_READY;
      }
    }
    // Exchanges whose app is done are accounted now; running ones when they finish.
    this.pump();
    this.server.connClosed(this);
  }
}
