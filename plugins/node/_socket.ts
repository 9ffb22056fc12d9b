/**
 * @module
 * The socket a Node handler sees for one exchange (`req.socket`, `res.socket`): the peer's
 * address, whether the connection is TLS, and the place `ServerResponse` writes its bytes to.
 * The connection itself belongs to bunicorn (Bun.serve or its HTTP engine), so the socket's
 * writes go to a {@link ByteSink} (_response.ts) and its timeouts and keep-alive switches are
 * no-ops: bunicorn's settings (`timeout`, `keepalive`, `body_timeout`...) rule the connection.
 */
import { Duplex } from "node:stream";

/** Where the bytes a `ServerResponse` writes go. */
export interface ByteSink {
  /** Bytes the response wrote (its head first); false asks the writer to wait for `drain`. */
  write(data: string | Uint8Array, encoding: BufferEncoding | null | undefined): boolean;
  /** `socket.end()` by the app: the response's body ends here. */
  end(): void;
  /** The socket was destroyed: by the app (`res.destroy()`, `req.socket.destroy()`) or because the client went away. */
  destroyed(error: Error | null): void;
}

export interface Peer {
  address: string;
  family: string;
  port: number;
}

export class ExchangeSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remoteFamily: string | undefined;
  readonly remotePort: number | undefined;
  /** As on a `tls.TLSSocket`: Express's `req.protocol` and `req.secure` read it. */
  readonly encrypted: boolean;
  readonly connecting = false;
  bytesWritten = 0;
  private readonly sink: ByteSink;

  constructor(peer: Peer | null, encrypted: boolean, sink: ByteSink) {
    super();
    this.remoteAddress = peer?.address;
    this.remoteFamily = peer?.family;
    this.remotePort = peer?.port;
    this.encrypted = encrypted;
    this.sink = sink;
  }

  /** `ServerResponse` writes here (head and body, unframed: see _response.ts). */
  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (typeof encoding === "function") {
      cb = encoding;
      encoding = undefined;
    }
    if (this.destroyed) {
      if (typeof cb === "function") process.nextTick(cb as () => void, new Error("write after the connection closed"));
      return false;
    }
    const data = chunk as string | Uint8Array;
    this.bytesWritten += typeof data === "string" ? Buffer.byteLength(data, (encoding as BufferEncoding) ?? "utf8") : data.byteLength;
    const ok = this.sink.write(data, encoding as BufferEncoding | null | undefined);
    if (typeof cb === "function") process.nextTick(cb as () => void);
    return ok;
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    if (typeof chunk === "function") return this.end(undefined, undefined, chunk);
    if (typeof encoding === "function") return this.end(chunk, undefined, encoding);
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    this.sink.end();
    if (typeof cb === "function") process.nextTick(cb as () => void);
    return this;
  }

  override _read(): void {}

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sink.destroyed(error);
    callback(error);
  }

  setTimeout(_ms: number, _callback?: () => void): this {
    return this;
  }

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
