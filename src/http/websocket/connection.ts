/**
 * One WebSocket connection after its 101: the socket's events (the engine hands the socket over),
 * the frame parser, the outbound queue with backpressure and corking, the close handshake and
 * the idle timeout. The app sees it through {@link EngineServerWebSocket}.
 *
 * Closing follows Bun.serve: `close()` sends a close frame and ends the socket at once (it does
 * not wait for the client's), a client's close frame is echoed, a protocol violation sends a
 * close frame with 1002, 1007 or 1009 and the handler gets 1006 with the reason, and the `close`
 * handler runs synchronously, after the socket has left its topics.
 *
 * @module
 */
import type { Socket } from "bun";
import {
  CLOSE_ABNORMAL,
  FrameParser,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  WebSocketProtocolError,
  type FrameSink,
} from "./frame-parser.ts";
import { flushQueue, writeThrough } from "../socket-writes.ts";
import { encodeClose, encodeFrame, encodeTextFrame, truncateReason } from "./frame-writer.ts";
import type { WebSocketHub } from "./hub.ts";
import type { Subscriber } from "./pubsub.ts";
import { EngineServerWebSocket } from "./server-websocket.ts";

const EMPTY = new Uint8Array(0);
/** The most bytes `cork()` holds back (Bun's cork buffer is 16 KiB). */
const CORK_MAX = 16 * 1024;
const IDLE_REASON = "WebSocket timed out from inactivity";

export class WebSocketConnection implements FrameSink, Subscriber {
  /** The engine's socket handlers look for a PROXY header still expected: never after a 101. */
  readonly proxy = null;
  /** What the app's handlers get. */
  readonly ws: EngineServerWebSocket<unknown>;
  /** 1 while open, 3 once closed or closing (a ServerWebSocket is never 0 or 2). */
  readyState: 1 | 3 = 1;
  /** Topics subscribed to. */
  readonly topics = new Set<string>();
  paused = false;
  private readonly parser: FrameParser;
  /** Bytes the socket has not taken yet; null when none. */
  private queue: Uint8Array[] | null = null;
  private queued = 0;
  /** Frames held back by `cork()`; null when not corked. */
  private corked: Uint8Array[] | null = null;
  private corkedBytes = 0;
  /** End the socket once the queue is flushed. */
  private ending = false;
  private socketClosed = false;
  /** A send reported backpressure: the `drain` handler runs once the queue is flushed. */
  private drainOwed = false;
  /** When input last arrived; the idle timeout counts from it. */
  private lastInput = performance.now();
  private pinged = false;

  constructor(
    private readonly hub: WebSocketHub,
    private readonly socket: Socket<unknown>,
    data: unknown,
    remoteAddress: string,
  ) {
    this.parser = new FrameParser(this, hub.maxPayloadLength);
    this.ws = new EngineServerWebSocket(this, data, remoteAddress);
  }

  /** Writes the handshake's bytes (before any frame). */
  writeRaw(bytes: Uint8Array): void {
    this.writeNow(bytes);
  }

  /** Runs the `open` handler; if it throws, the socket is terminated (as Bun.serve does). */
  start(): void {
    const open = this.hub.handler.open;
    if (typeof open !== "function") return;
    try {
      this.cork(() => open.call(this.hub.handler, this.ws as never));
    } catch (e) {
      this.terminate();
      this.hub.handlerError(e, this);
    }
  }

  // ---- socket events (the engine's socket handlers call these after the handover)

  onData(chunk: Uint8Array): void {
    if (this.readyState !== 1) return;
    this.lastInput = performance.now();
    this.pinged = false;
    try {
      this.parser.feed(chunk);
    } catch (e) {
      if (e instanceof WebSocketProtocolError) this.fail(e);
      else throw e;
    }
  }

  onDrain(): void {
    const q = this.queue;
    if (q !== null) {
      this.queued -= flushQueue(this.socket, q);
      if (q.length > 0) return;
      this.queue = null;
      this.queued = 0;
    }
    if (this.ending) {
      this.socket.end();
      return;
    }
    if (this.drainOwed && this.readyState === 1) {
      this.drainOwed = false;
      const drain = this.hub.handler.drain;
      if (typeof drain === "function") this.cork(() => this.hub.call(this, drain));
    }
  }

  /** The client ended its side without a close frame. */
  onEnd(): void {
    if (this.readyState === 1) this.abandon(CLOSE_ABNORMAL, "");
    this.endSocket();
  }

  onClose(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.queue = null;
    this.queued = 0;
    this.corked = null;
    if (this.readyState === 1) this.abandon(CLOSE_ABNORMAL, "");
    this.hub.removed(this);
  }

  // ---- the frame parser's events

  onMessage(message: string | Uint8Array): void {
    const h = this.hub.handler.message;
    if (typeof h !== "function") return;
    const m = typeof message === "string" ? message : this.binary(message);
    this.cork(() => this.hub.call(this, h, m));
  }

  onPing(payload: Uint8Array): void {
    this.write(encodeFrame(OP_PONG, payload));
    const h = this.hub.handler.ping;
    if (typeof h === "function") this.hub.call(this, h, this.binary(payload));
  }

  onPong(payload: Uint8Array): void {
    const h = this.hub.handler.pong;
    if (typeof h === "function") this.hub.call(this, h, this.binary(payload));
  }

  /** A close frame: echo it (Bun.serve sends the client's code and reason back), then end. */
  onCloseFrame(code: number, reason: string, payload: Uint8Array): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.write(encodeFrame(OP_CLOSE, payload));
    this.finish(code, reason);
    this.endSocket();
  }

  // ---- what the app's ServerWebSocket does

  /** Sends `data` as a text (string) or binary message; Bun's status. */
  send(data: string | Uint8Array): number {
    if (this.readyState !== 1) return 0;
    if (typeof data === "string") {
      const { frame, size } = encodeTextFrame(OP_TEXT, data);
      return this.sendEncoded(frame, size);
    }
    return this.sendEncoded(encodeFrame(OP_BINARY, data), data.length);
  }

  sendControl(opcode: typeof OP_PING | typeof OP_PONG, payload: Uint8Array): number {
    if (payload.length > 125) throw new RangeError("A ping or pong payload is at most 125 bytes");
    return this.sendEncoded(encodeFrame(opcode, payload), payload.length);
  }

  /** Subscriber: writes an encoded frame; 0 when closed or over the backpressure limit, -1 under backpressure. */
  sendEncoded(frame: Uint8Array, size: number): number {
    if (this.readyState !== 1) return 0;
    const limit = this.hub.backpressureLimit;
    if (limit > 0 && this.queued > limit) {
      if (this.hub.closeOnBackpressureLimit) this.terminate();
      return 0;
    }
    this.write(frame);
    if (this.queue !== null) {
      this.drainOwed = true;
      return -1;
    }
    return size;
  }

  /** Sends to the subscribers of `topic` (itself too with `publishToSelf`). */
  publish(topic: string, message: string | Uint8Array): number {
    if (this.readyState !== 1) return 0;
    return this.hub.topics.publish(topic, message, this.hub.publishToSelf ? null : this);
  }

  /** False once closed (Bun's answer, also inside the `close` handler). */
  subscribe(topic: string): boolean {
    if (this.readyState !== 1) return false;
    this.topics.add(topic);
    this.hub.topics.subscribe(this, topic);
    return true;
  }

  unsubscribe(topic: string): boolean {
    if (this.readyState !== 1 || !this.topics.delete(topic)) return false;
    this.hub.topics.unsubscribe(this, topic);
    return true;
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.parser.stop();
    const r = truncateReason(reason);
    this.write(encodeClose(code, r));
    this.finish(code, r);
    this.endSocket();
  }

  /** Closes without a close frame (queued messages are flushed first). */
  terminate(): void {
    if (this.readyState !== 1) return;
    this.abandon(CLOSE_ABNORMAL, "");
    this.endSocket();
  }

  /** Runs `fn` with every write held back, then writes them all at once. */
  cork<R>(fn: () => R): R {
    if (this.corked !== null) return fn();
    this.corked = [];
    try {
      return fn();
    } finally {
      this.uncork();
      this.corked = null;
    }
  }

  get bufferedAmount(): number {
    return this.queued;
  }

  pause(): void {
    if (this.readyState !== 1 || this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastInput = performance.now();
    if (!this.socketClosed) this.socket.resume();
  }

  /** Called about once a second: the ping at half the idle timeout, the close at its end. */
  checkIdle(now: number, timeoutMs: number, sendPings: boolean): void {
    if (this.readyState !== 1 || this.paused) return;
    const silent = now - this.lastInput;
    if (silent >= timeoutMs) {
      this.abandon(CLOSE_ABNORMAL, IDLE_REASON);
      this.endSocket();
    } else if (sendPings && !this.pinged && silent >= timeoutMs / 2) {
      this.pinged = true;
      this.write(encodeFrame(OP_PING, EMPTY));
    }
  }

  // ---- internals

  /** A protocol violation: a close frame with its code, and the handler gets 1006 with the reason. */
  private fail(e: WebSocketProtocolError): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.write(encodeClose(e.code, e.message));
    this.finish(CLOSE_ABNORMAL, e.message);
    this.endSocket();
  }

  /** Closed without sending a close frame. */
  private abandon(code: number, reason: string): void {
    this.readyState = 3;
    this.parser.stop();
    this.finish(code, reason);
  }

  /** Leaves every topic, then runs the `close` handler. */
  private finish(code: number, reason: string): void {
    this.parser.stop();
    const topics = this.hub.topics;
    for (const t of this.topics) topics.unsubscribe(this, t);
    this.topics.clear();
    this.hub.closed(this);
    const h = this.hub.handler.close;
    if (typeof h === "function") this.hub.call(this, h, code, reason);
  }

  private binary(payload: Uint8Array): unknown {
    switch (this.ws.binaryType) {
      case "arraybuffer":
        return payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload.buffer : payload.slice().buffer;
      case "uint8array":
        return payload;
      case "blob":
        return new Blob([payload as Uint8Array<ArrayBuffer>]);
      default:
        return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    }
  }

  private write(data: Uint8Array): void {
    if (this.socketClosed) return;
    const c = this.corked;
    if (c === null) {
      this.writeNow(data);
      return;
    }
    // Corking batches small frames into one write; past CORK_MAX what is held goes out.
    if (this.corkedBytes + data.length <= CORK_MAX) {
      c.push(data);
      this.corkedBytes += data.length;
      return;
    }
    this.uncork();
    this.writeNow(data);
  }

  private writeNow(data: Uint8Array): void {
    if (this.socketClosed) return;
    if (this.queue !== null) {
      this.queue.push(data);
      this.queued += data.length;
      return;
    }
    const rest = writeThrough(this.socket, data);
    if (rest !== null) {
      this.queue = [rest];
      this.queued = rest.length;
    }
  }

  private uncork(): void {
    const c = this.corked;
    if (c === null || c.length === 0) return;
    this.corked = [];
    this.corkedBytes = 0;
    this.writeNow(c.length === 1 ? c[0]! : Buffer.concat(c));
  }

  /** Ends the socket once what is queued (and corked) is written. */
  private endSocket(): void {
    if (this.socketClosed || this.ending) return;
    this.uncork();
    this.ending = true;
    if (this.queue === null) this.socket.end();
  }
}
