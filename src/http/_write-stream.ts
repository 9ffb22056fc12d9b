/**
 * The response writer for `ReadableStream` bodies (and typeless Blobs, read as streams).
 *
 * What the stream yields without waiting (each read may take one event-loop turn), up to
 * {@link PREBUFFER_LIMIT}, is collected first: if the stream ends by then, the body goes out with
 * a `Content-Length` (small files, blobs, quickly generated bodies). Otherwise
 * `Transfer-Encoding: chunked` starts at once, so live streams (SSE…) are not delayed; HTTP/1.0
 * clients get the raw stream and a close. Writing waits for the socket to drain.
 *
 * @module
 */
import type { Conn } from "./engine.ts";
import type { Exchange } from "./_exchange.ts";
import { failResponse, writeBuffer } from "./_write-buffer.ts";

/** A streamed body that completes within this many bytes (without waiting on I/O) is sent with a Content-Length. */
const PREBUFFER_LIMIT = 256 * 1024;

/** What the writer uses of a stream's default reader. */
type StreamReader = { read(): Promise<{ done: true; value?: unknown } | { done: false; value: unknown }>; cancel(reason?: unknown): Promise<void> };

const NOT_YET: unique symbol = Symbol("not yet");

/** The promise's result if it settles within one turn of the event loop, else NOT_YET. */
function settledSoon<T>(p: Promise<T>): T | typeof NOT_YET | Promise<T | typeof NOT_YET> {
  const st = Bun.peek.status(p);
  if (st === "fulfilled") return Bun.peek(p) as T;
  if (st === "rejected") return p;
  return Promise.race([p, new Promise<typeof NOT_YET>((resolve) => setImmediate(resolve, NOT_YET))]);
}

/** A stream chunk as bytes (strings as UTF-8); throws for anything else. */
function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError("Response stream chunk is not bytes or string");
}

/** Streams `body` after head `h` (not ended); finishes the exchange. */
export async function writeStream(conn: Conn, ex: Exchange, h: string, body: ReadableStream, http10: boolean): Promise<void> {
  const out = conn.output;
  let headSent = false;
  const reader = body.getReader();
  try {
    const first = await reader.read();
    if (first.done) {
      headSent = true;
      out.writeHead(h + "Content-Length: 0\r\n\r\n");
    } else await writeChunks(conn, ex, h, reader, first.value, http10, () => (headSent = true));
  } catch (err) {
    conn.server.reportError(err, ex.req);
    reader.cancel().catch(() => {});
    failResponse(conn, ex, err, headSent, false);
    return;
  }
  conn.done(ex);
}

/**
 * Writes the stream whose first chunk is `firstValue`: with a Content-Length if it ends within
 * {@link PREBUFFER_LIMIT} without waiting, else chunked (raw for HTTP/1.0). Calls `headWritten`
 * once the head is out; throws for a bad chunk or a failing stream.
 */
async function writeChunks(conn: Conn, ex: Exchange, h: string, reader: StreamReader, firstValue: unknown, http10: boolean, headWritten: () => void): Promise<void> {
  const out = conn.output;
  const c0 = toBytes(firstValue);
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
    pre.push(c);
    total += c.length;
    next = reader.read();
  }
  if (conn.closed) {
    reader.cancel().catch(() => {});
    return;
  }
  if (ended) {
    headWritten();
    writeBuffer(conn, ex, h, pre.length === 1 ? c0 : Buffer.concat(pre, total), false, false);
    return;
  }
  if (http10) {
    ex.keepAlive = false;
    if (!h.includes("Connection: close")) h += "Connection: close\r\n";
    out.writeHead(h + "\r\n");
  } else {
    out.writeHead(h + "Transfer-Encoding: chunked\r\n\r\n");
  }
  headWritten();
  for (let i = 0; i < pre.length - 1; i++) {
    const c = pre[i]!;
    if (c.length === 0) continue;
    ex.bytesSent += c.length;
    if (http10) out.write(c);
    else out.writeChunk(c);
  }
  let chunk = pre[pre.length - 1]!;
  for (;;) {
    if (conn.closed) {
      reader.cancel().catch(() => {});
      break;
    }
    if (chunk.length > 0) {
      ex.bytesSent += chunk.length;
      if (http10) out.write(chunk);
      else out.writeChunk(chunk);
      if (out.pending) await out.waitDrain();
    }
    const r = await next;
    if (r.done) break;
    chunk = toBytes(r.value);
    next = reader.read();
  }
  if (!http10 && !conn.closed) out.writeHead("0\r\n\r\n");
}
