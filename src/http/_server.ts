/**
 * The running engine ({@link HttpEngine}): the listener, the settings every connection shares,
 * the open connections and the counters, the sweep that closes connections past their deadline,
 * and graceful stop.
 *
 * @module
 */
import type { SocketHandler, SocketListener } from "bun";
import { bodyPolicy, DEFAULT_BODY_MIN_RATE, DEFAULT_BODY_TIMEOUT, type BodyPolicy } from "./body-timeout.ts";
import { closeDrained, DRAIN_IDLE_GRACE_MS, DRAIN_TICK_MS } from "./drain.ts";
import type { Conn } from "./engine.ts";
import { accessRecord, exchangeOf, type Exchange } from "./_exchange.ts";
import { ipMatcher } from "../net/ip.ts";
import { attachForwardingView, ForwardingPolicy } from "./forwarding.ts";
import { resolveParserOptions, type ResolvedParserOptions } from "./parser.ts";
import type { ProxyMode } from "./proxy-protocol.ts";
import { acquireClock, releaseClock } from "./_status.ts";
import type { HttpEngine, HttpEngineOptions, HttpTarget, ResponseRecord } from "./types.ts";
import type { UpgradeOptions } from "./_upgrade.ts";
import type { WebSocketHub } from "./websocket/hub.ts";
import type { SendData } from "./websocket/server-websocket.ts";

/** The WebSocket code (`_upgrade.ts`, `websocket/`: about 1 MiB RSS), loaded only for an app with `websocket` handlers. */
type WebSocketCode = typeof import("./_upgrade.ts");

const DEFAULT_MAX_BODY = 128 * 1024 * 1024;
/** `maxBufferedHeads`' default: the incomplete request heads all connections may hold. */
const DEFAULT_MAX_BUFFERED_HEADS = 32 * 1024 * 1024;
/** `sendTimeout`'s default, in seconds (nginx's `send_timeout`). */
const DEFAULT_SEND_TIMEOUT = 60;

/** Settings shared by all connections of an engine. */
interface EngineConfig {
  parser: ResolvedParserOptions;
  keepalive: number;
  headerTimeoutMs: number;
  /** `bodyTimeout` and `bodyMinRate` (body-timeout.ts); null: both off. */
  bodyPolicy: BodyPolicy | null;
  maxInFlight: number;
  maxBody: number;
  maxBufferedHeads: number;
  /** 0: none. */
  sendTimeoutMs: number;
}

export class Server implements HttpEngine {
  readonly cfg: EngineConfig;
  readonly app: HttpEngineOptions["fetch"];
  readonly onResponse: ((record: ResponseRecord) => void) | null;
  private readonly onError: ((err: unknown, req: Request | null) => void) | null;
  /** The PROXY header expected on each connection, or null when none is. */
  readonly proxyMode: ProxyMode | null;
  readonly proxyAllowed: (address: string) => boolean;
  /** File bodies go out with sendfile(2) where the platform has it (loaded on first use); never over TLS. */
  readonly sendfile: boolean;
  /** The scheme of the app's `req.url`: `https://` when the listener speaks TLS. */
  readonly scheme: "http://" | "https://";
  /** Trusted proxies' scheme headers and `header_map` (forwarding.ts). */
  readonly forwarding: ForwardingPolicy;
  private readonly conns = new Set<Conn>();
  /** The app's WebSockets (`websocket` handlers given), or null. */
  private readonly ws: WebSocketHub | null;
  private readonly wsCode: WebSocketCode | null;
  inFlight = 0;
  requestsServed = 0;
  /** Bytes of incomplete request heads held by all connections (bounded by `maxBufferedHeads`). */
  headBytes = 0;
  stopping = false;
  private listener: SocketListener<Server> | null = null;
  private sweepTimer: ReturnType<typeof setInterval>;
  /** The Date clock is held until the stop completes (responses still go out while draining). */
  private holdsClock = true;
  /** How long a graceful stop keeps an idle keep-alive connection (drain.ts); 0 after `endDrain()`. */
  private drainGraceMs = DRAIN_IDLE_GRACE_MS;
  private stopWaiters: (() => void)[] = [];

  constructor(target: HttpTarget, o: HttpEngineOptions, handlers: { plain: SocketHandler<Conn>; proxy: SocketHandler<Conn> }) {
    if (typeof o.fetch !== "function") throw new TypeError("serveHttp: options.fetch must be a function");
    const keepalive = Math.max(0, o.keepalive ?? 2);
    const maxBodyOpt = o.maxRequestBodySize ?? DEFAULT_MAX_BODY;
    this.cfg = {
      parser: resolveParserOptions(o),
      keepalive,
      headerTimeoutMs: (o.headerTimeout !== undefined && o.headerTimeout > 0 ? o.headerTimeout : Math.max(10, keepalive)) * 1000,
      bodyPolicy: bodyPolicy(o.bodyTimeout ?? DEFAULT_BODY_TIMEOUT, o.bodyMinRate ?? DEFAULT_BODY_MIN_RATE),
      maxInFlight: Math.max(1, o.maxInFlight ?? 1000),
      maxBody: maxBodyOpt <= 0 ? Infinity : maxBodyOpt,
      maxBufferedHeads: Math.max(0, o.maxBufferedHeads ?? DEFAULT_MAX_BUFFERED_HEADS),
      sendTimeoutMs: Math.max(0, o.sendTimeout ?? DEFAULT_SEND_TIMEOUT) * 1000,
    };
    this.app = o.fetch;
    this.onResponse = o.onResponse ?? null;
    this.onError = o.onError ?? null;
    const pp = o.proxyProtocol ?? false;
    if (pp !== false && pp !== "v1" && pp !== "v2" && pp !== "auto") throw new TypeError(`serveHttp: options.proxyProtocol must be false, "v1", "v2" or "auto"`);
    this.proxyMode = pp === false ? null : pp;
    this.proxyAllowed = ipMatcher(o.proxyAllowIps ?? ["127.0.0.1", "::1"]);
    this.sendfile = o.sendfile !== false && !o.tls;
    this.scheme = o.tls ? "https://" : "http://";
    this.forwarding = new ForwardingPolicy(o);
    // For the app's helpers (src/forwarded.ts): whether a request came from a trusted forwarder.
    attachForwardingView(this, { policy: this.forwarding, trusted: (req) => exchangeOf(req)?.conn.trustsForwarder() ?? false });

    const opts: Record<string, unknown> = { socket: this.proxyMode === null ? handlers.plain : handlers.proxy, data: this };
    if (o.tls) opts.tls = o.tls;
    if ("fd" in target) opts.fd = target.fd;
    else if ("unix" in target) opts.unix = target.unix;
    else {
      opts.hostname = target.hostname;
      opts.port = target.port;
    }
    this.wsCode = o.websocket ? (require("./_upgrade.ts") as WebSocketCode) : null;
    this.ws = this.wsCode !== null ? this.wsCode.createHub(o.websocket!, o.publishChannel ?? null) : null;
    if (this.ws !== null) this.ws.onEmpty = () => this.connClosed(null);
    this.listener = Bun.listen(opts as unknown as Parameters<typeof Bun.listen<Server>>[0]) as SocketListener<Server>;
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

  connOpened(c: Conn): void {
    this.conns.add(c);
  }

  /** A connection closed (null: the last WebSocket did). */
  connClosed(c: Conn | null): void {
    if (c !== null) this.conns.delete(c);
    if (this.stopping && this.conns.size === 0 && (this.ws === null || this.ws.sockets === 0)) this.resolveStop();
  }

  /** Bun's `server.upgrade()`: see `_upgrade.ts`. */
  upgrade(req: Request, options?: UpgradeOptions): boolean {
    if (this.ws === null || this.wsCode === null) throw new TypeError('To enable websocket support, set the "websocket" object in Bun.serve({})');
    return this.wsCode.upgradeRequest(this.ws, req, options);
  }

  /** Sends to every WebSocket subscribed to `topic` (`compress` is ignored: no permessage-deflate). */
  publish(topic: string, data: SendData, compress?: boolean): number {
    void compress;
    return this.ws === null ? 0 : this.ws.publish(String(topic), data);
  }

  subscriberCount(topic: string): number {
    return this.ws === null ? 0 : this.ws.topics.count(String(topic));
  }

  /** Open WebSockets. */
  get pendingWebSockets(): number {
    return this.ws === null ? 0 : this.ws.pending;
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

  record(ex: Exchange): void {
    try {
      this.onResponse!(accessRecord(ex));
    } catch {
      /* ignore */
    }
  }

  /** Closes connections past their deadline (idle keep-alive, a slow head or body) or whose output stalled. */
  private sweep(): void {
    const now = performance.now();
    const sendTimeout = this.cfg.sendTimeoutMs;
    for (const c of this.conns) {
      // Past its deadline: closed, or a too slow request body answered with a 408 (Conn.expire).
      if (c.deadline > 0 && now >= c.deadline && !c.closed) c.expire();
      // Output the client has not taken for sendTimeout: it stopped reading, or is gone without a
      // word (a paused socket does not see the peer's FIN). An end would wait behind that output.
      const stalled = c.output.stalledSince;
      if (stalled > 0 && sendTimeout > 0 && now - stalled >= sendTimeout && !c.closed) {
        c.readDone = true;
        c.socket.terminate();
      }
    }
  }

  requestIP(req: Request): { address: string; family: string; port: number } | null {
    const ex = exchangeOf(req);
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
      const l = this.listener;
      this.listener = null;
      if (l !== null) l.stop(false);
      clearInterval(this.sweepTimer);
      if (graceful) {
        // The drain (drain.ts): idle connections are kept for their grace, answered with
        // `Connection: close` if a request comes; deadlines (slow heads, bodies) still apply.
        this.sweepTimer = setInterval(() => {
          this.sweep();
          closeDrained(this.conns, performance.now(), this.drainGraceMs);
        }, DRAIN_TICK_MS);
        this.sweepTimer.unref();
      } else {
        for (const c of this.conns) {
          c.readDone = true;
          c.socket.terminate();
        }
      }
    } else if (!graceful) {
      for (const c of this.conns) c.socket.terminate();
    }
    // Graceful: open WebSockets are left to close (as Bun.serve's stop() does); forced: 1001.
    if (!graceful) this.ws?.closeAll(1001, "Server closed");
    this.connClosed(null);
    return p;
  }

  /**
   * A graceful stop no longer keeps idle keep-alive connections for their next request (nothing
   * takes over: bunicorn's whole server is stopping): they close now, and the others once idle.
   */
  endDrain(): void {
    this.drainGraceMs = 0;
    if (this.stopping) closeDrained(this.conns, performance.now(), 0);
  }

  private resolveStop(): void {
    clearInterval(this.sweepTimer);
    if (this.holdsClock) {
      this.holdsClock = false;
      releaseClock();
    }
    this.ws?.stop();
    const w = this.stopWaiters;
    this.stopWaiters = [];
    for (const f of w) f();
  }
}

