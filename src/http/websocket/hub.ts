/**
 * The WebSockets of one engine: the app's `websocket` handlers and Bun's options for them
 * (`maxPayloadLength`, `idleTimeout`, `sendPings`, `backpressureLimit`,
 * `closeOnBackpressureLimit`, `publishToSelf`), the open connections, their topics, the idle
 * sweep, and error containment for the handlers.
 *
 * Limits and defaults are Bun.serve's: messages up to 16 MiB (larger: 1009), 16 MiB of
 * backpressure, a 120 s idle timeout (0 = none; 1 to 7 become 8; at most 960) with a ping at
 * half of it. `perMessageDeflate` is ignored: the extension is never negotiated.
 *
 * A handler that throws goes to the `error` handler, or without one is rethrown as an uncaught
 * exception (Bun.serve's behaviour; a bunicorn worker logs it and keeps serving). A rejected
 * promise from an async handler is an unhandled rejection, as under Bun.serve.
 *
 * @module
 */
import type { Socket, WebSocketHandler } from "bun";
import { WebSocketConnection } from "./connection.ts";
import { Topics } from "./pubsub.ts";
import { messageOf, type SendData } from "./server-websocket.ts";

const MIB16 = 16 * 1024 * 1024;
const U32_MAX = 4294967295;

function clampU32(v: unknown, dflt: number): number {
  if (typeof v !== "number" || !Number.isFinite(v)) return v === Infinity ? U32_MAX : dflt;
  return Math.min(U32_MAX, Math.max(0, Math.floor(v)));
}

/** Seconds as Bun takes them: 0 = none, 1 to 7 become 8, at most 960. */
function idleSeconds(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) return 120;
  const s = Math.min(960, Math.max(0, Math.floor(v)));
  return s > 0 && s < 8 ? 8 : s;
}

export class WebSocketHub {
  readonly maxPayloadLength: number;
  readonly backpressureLimit: number;
  readonly closeOnBackpressureLimit: boolean;
  readonly publishToSelf: boolean;
  readonly topics: Topics;
  private readonly idleTimeoutMs: number;
  private readonly sendPings: boolean;
  /** Connections whose socket is still open (a closed WebSocket may still be flushing). */
  private readonly conns = new Set<WebSocketConnection>();
  private openCount = 0;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  /** Called when the last socket has closed (the engine's graceful stop waits for it). */
  onEmpty: (() => void) | null = null;

  constructor(
    readonly handler: WebSocketHandler<unknown>,
    /** A BroadcastChannel name shared with other threads' engines, or null. */
    publishChannel: string | null,
  ) {
    if (handler === null || typeof handler !== "object") throw new TypeError("serveHttp: options.websocket must be an object of handlers");
    this.maxPayloadLength = clampU32(handler.maxPayloadLength, MIB16);
    this.backpressureLimit = clampU32(handler.backpressureLimit, MIB16);
    this.closeOnBackpressureLimit = handler.closeOnBackpressureLimit === true;
    this.publishToSelf = handler.publishToSelf === true;
    this.idleTimeoutMs = idleSeconds(handler.idleTimeout) * 1000;
    this.sendPings = handler.sendPings !== false;
    this.topics = new Topics(publishChannel);
  }

  /** A new connection on `socket` after its handshake (not opened yet: see {@link WebSocketConnection.start}). */
  accept(socket: Socket<unknown>, data: unknown, remoteAddress: string): WebSocketConnection {
    const c = new WebSocketConnection(this, socket, data, remoteAddress);
    this.conns.add(c);
    this.openCount++;
    if (this.sweepTimer === null && this.idleTimeoutMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), 1000);
      this.sweepTimer.unref();
    }
    return c;
  }

  /** A connection closed (its `close` handler is about to run). */
  closed(c: WebSocketConnection): void {
    void c;
    this.openCount--;
  }

  /** A connection's socket closed. */
  removed(c: WebSocketConnection): void {
    if (!this.conns.delete(c)) return;
    if (this.conns.size === 0) {
      if (this.sweepTimer !== null) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = null;
      }
      this.onEmpty?.();
    }
  }

  /** Open WebSockets (Bun's `pendingWebSockets`). */
  get pending(): number {
    return this.openCount;
  }

  /** Sockets still open, including WebSockets closed but not yet flushed. */
  get sockets(): number {
    return this.conns.size;
  }

  /** `server.publish()`. */
  publish(topic: string, data: SendData): number {
    return this.topics.publish(topic, messageOf(data), null);
  }

  /** Closes every open WebSocket with `code` and `reason` (a forced stop: 1001 "Server closed"). */
  closeAll(code: number, reason: string): void {
    for (const c of [...this.conns]) c.close(code, reason);
  }

  /** The engine stopped: no more sweeps or relayed publishes. */
  stop(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.topics.close();
  }

  /** Runs handler `fn` for `c`, containing what it throws. */
  call(c: WebSocketConnection, fn: (...a: never[]) => unknown, a?: unknown, b?: unknown): void {
    try {
      (fn as (ws: unknown, a?: unknown, b?: unknown) => unknown).call(this.handler, c.ws, a, b);
    } catch (e) {
      this.handlerError(e, c);
    }
  }

  /** A handler threw: the `error` handler gets it, or it becomes an uncaught exception. */
  handlerError(e: unknown, c: WebSocketConnection): void {
    const onError = this.handler.error;
    if (typeof onError === "function") {
      try {
        onError.call(this.handler, e as Error, c.ws as never);
        return;
      } catch (e2) {
        e = e2;
      }
    }
    queueMicrotask(() => {
      throw e;
    });
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of this.conns) c.checkIdle(now, this.idleTimeoutMs, this.sendPings);
  }
}
