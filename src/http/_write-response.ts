/**
 * Writes the app's `Response`: builds the head, then hands the body to the writer for its kind
 * (undici's `writeH1` with one writer per body kind):
 *
 * | body | writer |
 * |---|---|
 * | in memory (string, bytes, JSON…) | {@link writeBuffer}: `Content-Length`, one send with the head |
 * | `Blob`, `Bun.file` | {@link writeBlob}: `Content-Length`, sendfile(2), Range |
 * | none, or HEAD / 1xx / 204 / 304 | the head alone |
 * | `ReadableStream`, typeless Blob | {@link writeStream}: `Content-Length` if it ends at once, else chunked |
 *
 * A `Date` header is added when the app gives none; no `Server` header. The app's
 * `Content-Length`, `Transfer-Encoding`, `Keep-Alive` and `Connection` headers are replaced by the
 * engine's own framing (`Connection: close` from the app closes the connection after the response).
 *
 * @module
 */
import { blobBodyOf, IN_MEMORY_DETECTION, inMemoryBody } from "./blob-body.ts";
import type { Conn } from "./engine.ts";
import type { Exchange } from "./_exchange.ts";
import { clock, statusLine } from "./_status.ts";
import { writeBlob } from "./_write-blob.ts";
import { bodyForbidden, writeBuffer } from "./_write-buffer.ts";
import { writeStream } from "./_write-stream.ts";

// Reading `res.body` materializes a ReadableStream (~0.4 µs), and calling `res.blob()` on a
// streamed body would buffer it entirely. An in-memory body (string/bytes) is told apart by
// JSC's shallow size of the Response (blob-body.ts `inMemoryBody`; not a `fetch()` Response,
// whose body is a stream), and then `res.blob()` resolves synchronously. The heuristic is
// verified at load time and disabled if it does not hold.

/** Writes `res` for `ex`. Returns true if done synchronously, false if the body's writer finishes the exchange later. */
export function writeResponse(conn: Conn, ex: Exchange, res: Response): boolean {
  const status = res.status;
  ex.status = status;
  // A graceful stop: the answer to the last request read closes the connection (engine.ts closesOnStop).
  if (conn.closesOnStop(ex)) ex.keepAlive = false;
  // Responding before the request body was read: a big or chunked rest is not drained, the connection closes.
  if (conn.unreadBodyForbidsKeepAlive(ex)) ex.keepAlive = false;
  const isHead = ex.head !== null && ex.head.method === "HEAD";
  const noBody = bodyForbidden(status);
  const http10 = ex.head !== null && ex.head.versionMinor === 0;
  const rh: string[] | null = conn.server.onResponse !== null ? [] : null;
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
  if (!hasDate) h += clock.dateLine;
  if (!ex.keepAlive) h += "Connection: close\r\n";
  else if (http10) h += "Connection: keep-alive\r\n";
  ex.resHeaders = rh;

  if (res.bodyUsed) throw new TypeError("fetch handler returned a Response whose body was already used");
  if (IN_MEMORY_DETECTION && inMemoryBody(res)) {
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
    writeBuffer(conn, ex, h, bytes, isHead, noBody);
    return true;
  }
  // A Blob or Bun.file body (Bun gives those a content-type): size known, so a Content-Length,
  // and sendfile(2) for a file. Without a content-type it is read as a stream below.
  if (hasType) {
    const bb = blobBodyOf(res);
    if (bb !== null) return writeBlob(conn, ex, h, bb, isHead, noBody);
  }
  const body = res.body;
  if (body === null) {
    if (noBody) h += "\r\n";
    else if (isHead && appLength !== null) h += "Content-Length: " + appLength + "\r\n\r\n";
    else h += "Content-Length: 0\r\n\r\n";
    conn.output.writeHead(h);
    return true;
  }
  if (isHead || noBody) {
    if (isHead && appLength !== null && !noBody) h += "Content-Length: " + appLength + "\r\n";
    h += "\r\n";
    conn.output.writeHead(h);
    body.cancel().catch(() => {});
    return true;
  }
  void writeStream(conn, ex, h, body, http10);
  return false;
}
