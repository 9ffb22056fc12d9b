/**
 * The `ServerWebSocket` the app's `websocket` handlers receive in shared-socket mode: Bun's
 * surface (`send`/`sendText`/`sendBinary` with Bun's return values, `close`, `terminate`,
 * `ping`/`pong`, topics, `cork`, `data`, `readyState`, `remoteAddress`, `binaryType`, `pause`),
 * over one {@link WebSocketConnection}.
 *
 * The `compress` arguments are accepted and ignored: the engine does not negotiate
 * permessage-deflate, so every message goes uncompressed (what a client that did not offer
 * compression gets from Bun.serve).
 *
 * @module
 */
import type { BufferSource, ServerWebSocket, ServerWebSocketSendStatus, WebSocketReadyState } from "bun";
import type { WebSocketConnection } from "./connection.ts";
import { OP_PING, OP_PONG } from "./frame-parser.ts";

/** What `send()` and `publish()` take. */
export type SendData = string | BufferSource | Blob;

/** Bytes of `data` (a view of it, not a copy); a Blob must be in memory. */
export function bytesOf(data: BufferSource | Blob): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return new Uint8Array(data);
  if (data instanceof Blob) {
    const bytes = Bun.peek(data.bytes());
    if (bytes instanceof Uint8Array) return bytes;
    throw new TypeError("Cannot send a Blob whose bytes are not in memory; read it first");
  }
  throw new TypeError("Expected a string, an ArrayBuffer, a TypedArray, a DataView or a Blob");
}

/** `data` as a message: a string stays text, anything else is binary. */
export function messageOf(data: SendData): string | Uint8Array {
  return typeof data === "string" ? data : bytesOf(data);
}

export class EngineServerWebSocket<T = undefined> implements ServerWebSocket<T> {
  binaryType: "nodebuffer" | "arraybuffer" | "uint8array" | "blob" = "nodebuffer";

  constructor(
    private readonly conn: WebSocketConnection,
    public data: T,
    readonly remoteAddress: string,
  ) {}

  get readyState(): WebSocketReadyState {
    return this.conn.readyState;
  }

  send(data: SendData, compress?: boolean): ServerWebSocketSendStatus {
    void compress;
    return this.conn.send(messageOf(data));
  }

  sendText(data: string, compress?: boolean): ServerWebSocketSendStatus {
    void compress;
    return this.conn.send(String(data));
  }

  sendBinary(data: BufferSource | Blob, compress?: boolean): ServerWebSocketSendStatus {
    void compress;
    return this.conn.send(bytesOf(data));
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code ?? 1000, reason ?? "");
  }

  terminate(): void {
    this.conn.terminate();
  }

  ping(data?: SendData): ServerWebSocketSendStatus {
    return this.conn.sendControl(OP_PING, control(data));
  }

  pong(data?: SendData): ServerWebSocketSendStatus {
    return this.conn.sendControl(OP_PONG, control(data));
  }

  publish(topic: string, data: SendData, compress?: boolean): ServerWebSocketSendStatus {
    void compress;
    return this.conn.publish(String(topic), messageOf(data));
  }

  publishText(topic: string, data: string, compress?: boolean): ServerWebSocketSendStatus {
    void compress;
    return this.conn.publish(String(topic), String(data));
  }

  publishBinary(topic: string, data: BufferSource | Blob, compress?: boolean): ServerWebSocketSendStatus {
    void compress;
    return this.conn.publish(String(topic), bytesOf(data));
  }

  subscribe(topic: string): boolean {
    return this.conn.subscribe(String(topic));
  }

  unsubscribe(topic: string): boolean {
    return this.conn.unsubscribe(String(topic));
  }

  isSubscribed(topic: string): boolean {
    return this.conn.topics.has(String(topic));
  }

  get subscriptions(): string[] {
    return [...this.conn.topics];
  }

  cork<R = unknown>(callback: (ws: ServerWebSocket<T>) => R): R {
    return this.conn.cork(() => callback(this));
  }

  getBufferedAmount(): number {
    return this.conn.bufferedAmount;
  }

  pause(): void {
    this.conn.pause();
  }

  resume(): void {
    this.conn.resume();
  }

  get isPaused(): boolean {
    return this.conn.readyState === 1 && this.conn.paused;
  }
}

function control(data: SendData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === "string" ? Buffer.from(data, "utf8") : bytesOf(data);
}
