/**
 * The HTTP/1.1 engine's public types and options, in one place: what {@link serveHttp} takes
 * and returns, and the record it hands the access log.
 *
 * Behaviour summary:
 * - keep-alive (HTTP/1.1 by default, HTTP/1.0 with `Connection: keep-alive`),
 *   pipelining (responses in request order, at most 16 queued per connection;
 *   reading pauses beyond that, and while more than 1 MiB of responses waits
 *   for a client that does not read them; `sendTimeout` cuts an output that
 *   does not move);
 * - memory: incomplete heads over 16 KiB must fit in `maxBufferedHeads` (all
 *   connections together), else a 431 and a close;
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
 *   connection that sends nothing or a partial head is closed after
 *   `headerTimeout` seconds (default `max(10, keepalive)`), without a response
 *   (like Bun.serve and Gunicorn); a request body that pauses longer than
 *   `bodyTimeout` or arrives slower than `bodyMinRate` (body-timeout.ts; only
 *   time spent waiting for the client counts) fails the app's stream and gets
 *   a 408 and a close. The sweep runs every second, so closes happen up to one
 *   second late. Handlers themselves have no timeout here (that is the
 *   arbiter's worker timeout);
 * - `req.signal` aborts when the client disconnects mid-exchange (created
 *   lazily on first access, so it costs nothing when unused). Copies made with
 *   `new Request(req)` / `req.clone()` carry a plain signal that does not;
 * - PROXY protocol (`proxyProtocol`): the connection's first bytes must be a v1
 *   or v2 header (`auto`: either, or none at all, i.e. plain HTTP), whose source
 *   address then stands for the peer (`requestIP`, `onResponse`). A header from a
 *   peer outside `proxyAllowIps` gets a plain 403, a malformed one a 400, and the
 *   connection closes. Engines without the option use socket handlers that never
 *   look for a header;
 * - WebSockets (the `websocket` option): the app's `server.upgrade(req)` writes the 101 and
 *   hands the socket to the WebSocket (`Conn.handOver`, `_upgrade.ts`, `websocket/`).
 *
 *
 * @module
 */
import type { ForwardingOptions } from "./forwarding.ts";
import type { HttpParserOptions } from "./parser.ts";
import type { ProxyMode } from "./proxy-protocol.ts";

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

/**
 * Options of {@link serveHttp}. Parser limits ({@link HttpParserOptions}) and the trusted-proxy
 * policy ({@link ForwardingOptions}: scheme headers, `header_map`) mirror Gunicorn's settings.
 */
export interface HttpEngineOptions extends HttpParserOptions, ForwardingOptions {
  /** The application. May return a Response or a Promise of one. */
  fetch: (req: Request, server: HttpEngine) => Response | Promise<Response>;
  /**
   * Seconds an idle keep-alive connection is kept; 0 = no keep-alive (`Connection: close` after
   * each response).
   * @default 2
   */
  keepalive?: number;
  /**
   * Seconds a connection may take to deliver a request head (from its first byte, or from the
   * connection's open).
   * @default max(10, keepalive) (Bun's own header timeout is about 10 s)
   */
  headerTimeout?: number;
  /**
   * `body_timeout`: the longest pause, in seconds, while the engine waits for request body bytes
   * (time the app leaves its body stream full does not count); also the grace before
   * {@link bodyMinRate} applies. A body past it fails the app's stream with a `RequestTimeout`
   * and is answered with a plain 408 and a close. 0 = no pause limit.
   * @default 20
   */
  bodyTimeout?: number;
  /**
   * `body_min_rate`: bytes per second a request body must average over the time spent waiting
   * for it, once {@link bodyTimeout} seconds of waiting have passed (src/http/body-timeout.ts).
   * 0 = no rate limit.
   * @default 500
   */
  bodyMinRate?: number;
  /**
   * Max requests in flight in this engine (worker_connections); beyond it clients get a plain 503
   * and a close.
   * @default 1000
   */
  maxInFlight?: number;
  /**
   * Max request body bytes; larger bodies get 413. 0 or Infinity = unlimited.
   * @default 134217728 (128 MiB)
   */
  maxRequestBodySize?: number;
  /**
   * Bytes of incomplete request heads this engine holds across all its connections. A connection
   * may always hold 16 KiB of an incomplete head (Bun.serve's whole head limit); beyond that its
   * head must fit in this total, else it gets a plain 431 and is closed.
   * @default 33554432 (32 MiB)
   */
  maxBufferedHeads?: number;
  /**
   * Seconds a connection's queued response bytes may go without the client taking any of them
   * (it stopped reading, or went away unnoticed); the connection is then closed. 0 = never.
   * @default 60 (nginx's `send_timeout`)
   */
  sendTimeout?: number;
  /** Called once per finished exchange (access log). Must not throw (errors are swallowed). */
  onResponse?: (record: ResponseRecord) => void;
  /** Called when the app throws/rejects or returns a non-Response (`req` is null if the Request could not be built). */
  onError?: (err: unknown, req: Request | null) => void;
  /**
   * PROXY protocol header expected at the start of each connection: `"v1"`, `"v2"`, or `"auto"`
   * (either version, or none: plain HTTP). `false`: no header is looked for.
   * @default false
   */
  proxyProtocol?: false | ProxyMode;
  /**
   * Peers allowed to send a PROXY header: IPv4/IPv6 addresses and CIDR networks, or `"*"` for
   * any. Unix-socket peers are always allowed.
   * @default ["127.0.0.1", "::1"]
   */
  proxyAllowIps?: readonly string[];
  /**
   * Send file bodies (`new Response(Bun.file(path))`) with `sendfile(2)`, from the page cache
   * straight to the socket. `false` reads them through user space (Gunicorn's `--no-sendfile`).
   * Either way a Blob or file body goes out with a `Content-Length`.
   * @default true
   */
  sendfile?: boolean;
  /**
   * Serve HTTPS: Bun's TLS options for the listener (`Bun.listen({fd, tls})`). The app's
   * `req.url` then starts with `https://`, and file bodies are read through user space
   * (sendfile(2) would bypass the encryption).
   */
  tls?: import("bun").TLSOptions | null;
  /**
   * Bun's `websocket` handlers and options (`open`, `message`, `close`, `drain`, `ping`, `pong`,
   * `error`, `maxPayloadLength`, `idleTimeout`, `backpressureLimit`…): with them, the app's
   * `server.upgrade(req, {data, headers})` turns a request into a `ServerWebSocket` (RFC 6455,
   * `src/http/websocket/`). `perMessageDeflate` is ignored (never negotiated).
   */
  websocket?: import("bun").WebSocketHandler<any>;
  /**
   * A `BroadcastChannel` name: publishes also reach the subscribers of the engines of other
   * threads of this process that use the same name (bunicorn's gthread worker).
   */
  publishChannel?: string;
}

/** A running engine. */
export interface HttpEngine {
  /**
   * Stops the engine. `graceful` (default true): stop accepting, let in-flight responses finish
   * (each connection closes after its last response, which says `Connection: close`), keep each
   * idle keep-alive connection for a short grace (250 ms; 1 s for one that has not sent its first
   * request) in case its next request is on its way, and resolve once every connection is closed
   * (src/http/drain.ts). `false`: close everything now.
   */
  stop(graceful?: boolean): Promise<void>;
  /** During a graceful stop: idle keep-alive connections are no longer kept for the grace; they close now, the others once idle. */
  endDrain(): void;
  /** Requests whose response has not been fully written yet. */
  readonly inFlight: number;
  /** Open connections. */
  readonly connections: number;
  /** Exchanges completed since start (including error responses). */
  readonly requestsServed: number;
  /** The peer of the connection `req` arrived on, like `Bun.serve`'s `requestIP`; null for unix sockets or foreign requests. */
  requestIP(req: Request): { address: string; family: string; port: number } | null;
  /**
   * Like `Bun.serve`'s: upgrades a WebSocket handshake request (true), or returns false for
   * another request; throws without `websocket` handlers.
   */
  upgrade(req: Request, options?: { data?: unknown; headers?: import("bun").HeadersInit }): boolean;
  /** Sends to every WebSocket subscribed to `topic`: Bun's status (bytes, -1 backpressure, 0 none or dropped). */
  publish(topic: string, data: string | import("bun").BufferSource | Blob, compress?: boolean): number;
  /** WebSockets subscribed to `topic`. */
  subscriberCount(topic: string): number;
  /** Open WebSockets. */
  readonly pendingWebSockets: number;
}
