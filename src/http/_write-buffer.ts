/**
 * Response writers for bodies already in memory: the app's bytes with a `Content-Length`, and the
 * engine's own plain-text error responses. Both go out in one send together with the head.
 *
 * @module
 */
import type { Conn } from "./engine.ts";
import type { Exchange } from "./_exchange.ts";
import { plainResponse, STATUS_TEXT } from "./_status.ts";

/** Whether a response with `status` may not have a body (RFC 9110: 1xx, 204, 304). */
export function bodyForbidden(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** Writes head `h` (status line and headers, not ended) with `bytes` as the body. */
export function writeBuffer(conn: Conn, ex: Exchange, h: string, bytes: Uint8Array, isHead: boolean, noBody: boolean): void {
  if (noBody) {
    conn.output.writeHead(h + "\r\n");
    return;
  }
  h += "Content-Length: " + bytes.length + "\r\n\r\n";
  if (isHead) {
    conn.output.writeHead(h);
    return;
  }
  ex.bytesSent = bytes.length;
  conn.output.writeHead(h, bytes);
}

/** Answers `ex` with the plain status `ex.errStatus` (protocol errors, 413, 503, a failed app). */
export function writePlainError(conn: Conn, ex: Exchange): void {
  const status = ex.errStatus;
  ex.status = status;
  // A failed handler (500) leaves the protocol state intact: keep the connection unless something
  // else says otherwise. Protocol errors, 413 and 503 always close.
  if (status !== 500 || conn.closesOnStop(ex) || conn.unreadBodyForbidsKeepAlive(ex)) ex.keepAlive = false;
  const body = `${STATUS_TEXT[status] ?? "Error"}\n`;
  ex.bytesSent = body.length;
  const http10 = ex.head !== null && ex.head.versionMinor === 0;
  conn.output.writeHead(plainResponse(status, body, !ex.keepAlive ? "close" : http10 ? "keep-alive" : ""));
}

/**
 * A response body failed: a plain 500 if nothing was written yet, else the connection is cut
 * (mid-body, the only honest signal). Reports the error (unless `report` is false: the caller
 * did) and finishes the exchange.
 */
export function failResponse(conn: Conn, ex: Exchange, err: unknown, headSent: boolean, report = true): void {
  if (report) conn.server.reportError(err, ex.req);
  ex.keepAlive = false;
  if (!conn.closed) {
    if (!headSent) {
      ex.errStatus = 500;
      writePlainError(conn, ex);
    } else conn.socket.terminate();
  }
  conn.done(ex);
}
