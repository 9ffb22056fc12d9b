/**
 * The response writer for Blob and `Bun.file` bodies: the size is known, so a `Content-Length`.
 *
 * - An in-memory Blob goes out like any in-memory body.
 * - A file is opened and `fstat`ed first (a missing file or a directory is a plain 500 before any
 *   head is sent, as under Bun.serve), answers Range requests as Bun.serve does (one range, 200
 *   responses to GET only, and not for a slice: 206, 416, or the whole file), and is sent with
 *   `sendfile(2)` from the
 *   page cache. When the socket is full, one {@link SENDFILE_SLICE} goes through Bun's socket, so
 *   that its `drain` says when to go on (Bun only watches for writability after its own short
 *   write). With `sendfile: false` the file is read through user space.
 * - A pipe or socket given by fd is read as a stream.
 *
 * @module
 */
import type { BlobBody } from "./blob-body.ts";
import { sliceStream, wholeFile } from "./blob-body.ts";
import type { Conn } from "./engine.ts";
import type { Exchange } from "./_exchange.ts";
import { headerValue } from "./header-value.ts";
import { resolveRange } from "./range.ts";
import { nodeFs, sendfile, sendfileAvailable } from "./_sendfile.ts";
import { statusLine } from "./_status.ts";
import { failResponse, writeBuffer } from "./_write-buffer.ts";
import { writeStream } from "./_write-stream.ts";
import { errnoName } from "../os/index.ts";

/** Bytes read and written through Bun's socket when a sendfile(2) would block. */
const SENDFILE_SLICE = 64 * 1024;
const EPIPE = 32;
const ECONNRESET = 104;

/** `head` (starting with a status line) with the status line replaced by `status`'s. */
function withStatus(ex: Exchange, head: string, status: number): string {
  ex.status = status;
  return statusLine(status, "") + head.slice(head.indexOf("\r\n") + 2);
}

/**
 * Writes a Blob or file body after head `h` (not ended). Returns true if done synchronously;
 * otherwise it finishes the exchange itself.
 */
export function writeBlob(conn: Conn, ex: Exchange, h: string, bb: BlobBody, isHead: boolean, noBody: boolean): boolean {
  const blob = bb.blob;
  if (!(blob instanceof Blob)) {
    // Not settled at once (not seen on Bun 1.4.4): finish when it is.
    blob.then(
      (b) => {
        if (conn.closed) return conn.done(ex);
        try {
          if (writeBlob(conn, ex, h, { blob: b, file: bb.file }, isHead, noBody)) conn.done(ex);
        } catch (err) {
          failResponse(conn, ex, err, false);
        }
      },
      (err: unknown) => failResponse(conn, ex, err, false),
    );
    return false;
  }
  if (noBody) {
    conn.output.writeHead(h + "\r\n");
    return true;
  }
  if (bb.file === null) {
    const p = blob.bytes();
    if (Bun.peek.status(p) === "fulfilled") {
      writeBuffer(conn, ex, h, Bun.peek(p) as Uint8Array, isHead, false);
      return true;
    }
    void writeKnownLength(conn, ex, h, blob, isHead);
    return false;
  }
  const file = bb.file;
  const fs = nodeFs();
  const own = file.path !== null;
  const fd = own ? fs.openSync(file.path!, "r") : file.fd;
  const release = (): void => {
    if (own) fs.closeSync(fd);
  };
  let st;
  try {
    st = fs.fstatSync(fd);
  } catch (err) {
    release();
    throw err;
  }
  if (!st.isFile()) {
    release();
    // A directory opens and has a size, but is no body: the app's error, as under Bun.serve.
    if (own) throw new Error(`EISDIR or not a regular file: cannot send ${file.path} as a response body`);
    // A pipe or socket given by fd: read it as a stream.
    void writeStream(conn, ex, h, blob.stream(), ex.head !== null && ex.head.versionMinor === 0);
    return false;
  }
  // The size now (the Blob's was taken earlier), never past the end of the file.
  let size = Math.min(blob.size, Math.max(0, st.size - file.offset));
  let offset = file.offset;
  let part: Blob = blob;
  if (ex.status === 200 && !isHead && ex.head !== null && ex.head.method === "GET" && wholeFile(file.offset, blob.size, st.size)) {
    const range = resolveRange(headerValue(ex.head.headers, "range"), size);
    const acceptRanges = h.includes("\r\naccept-ranges:") ? "" : "Accept-Ranges: bytes\r\n";
    if (range.kind === "unsatisfiable") {
      release();
      conn.output.writeHead(withStatus(ex, h, 416) + "Content-Range: bytes */" + size + "\r\n" + acceptRanges + "Content-Length: 0\r\n\r\n");
      return true;
    }
    if (range.kind === "part") {
      h = withStatus(ex, h, 206) + "Content-Range: bytes " + range.start + "-" + (range.end - 1) + "/" + size + "\r\n" + acceptRanges;
      ex.resHeaders?.push("Content-Range", `bytes ${range.start}-${range.end - 1}/${size}`);
      if (acceptRanges !== "") ex.resHeaders?.push("Accept-Ranges", "bytes");
      part = blob.slice(range.start, range.end);
      offset += range.start;
      size = range.end - range.start;
    }
  }
  if (isHead || size === 0) {
    release();
    conn.output.writeHead(h + "Content-Length: " + size + "\r\n\r\n");
    return true;
  }
  if (!conn.server.sendfile || !sendfileAvailable()) {
    release();
    void writeKnownLength(conn, ex, h, part.size === size ? part : part.slice(0, size), false);
    return false;
  }
  conn.output.writeHead(h + "Content-Length: " + size + "\r\n\r\n");
  return sendFile(conn, ex, fd, own, offset, size);
}

/**
 * Sends `size` bytes of the open file `fd` from `offset` with sendfile(2), a slice through Bun's
 * socket whenever it is full. Returns true if done synchronously; otherwise it finishes the
 * exchange itself.
 */
function sendFile(conn: Conn, ex: Exchange, fd: number, ownFd: boolean, offset: number, size: number): boolean {
  const out = conn.output;
  const socket = conn.socket;
  const sockFd = (socket as unknown as { fd: number }).fd;
  let sent = 0;
  const step = (): boolean => {
    while (sent < size) {
      if (conn.closed) return true;
      if (out.pending) return false;
      const n = sendfile(sockFd, fd, offset + sent, size - sent);
      if (n < 0) {
        // The peer gone (EPIPE, ECONNRESET) is no error worth a line; anything else is reported.
        if (n !== -EPIPE && n !== -ECONNRESET) conn.server.reportError(new Error(`sendfile: ${errnoName(-n)}`), ex.req);
        ex.keepAlive = false;
        socket.terminate();
        return true;
      }
      sent += n;
      if (sent === size) break;
      // The socket is full (or the file shrank): one slice through Bun arms `drain`.
      const len = Math.min(SENDFILE_SLICE, size - sent);
      const buf = Buffer.allocUnsafe(len);
      const r = nodeFs().readSync(fd, buf, 0, len, offset + sent);
      if (r <= 0) {
        // The file is shorter than announced: the only honest signal is to cut the connection.
        ex.keepAlive = false;
        socket.terminate();
        return true;
      }
      sent += r;
      out.write(r === len ? buf : buf.subarray(0, r));
    }
    return true;
  };
  const finish = (): void => {
    ex.bytesSent = sent;
    if (ownFd) nodeFs().closeSync(fd);
  };
  try {
    if (step()) {
      finish();
      return true;
    }
  } catch (err) {
    finish();
    throw err;
  }
  void (async () => {
    try {
      for (;;) {
        await out.waitDrain();
        if (step()) break;
      }
    } catch (err) {
      conn.server.reportError(err, ex.req);
      ex.keepAlive = false;
      if (!conn.closed) socket.terminate();
    }
    finish();
    conn.done(ex);
  })();
  return false;
}

/** Streams a body of known size (a Blob read through user space) after a Content-Length head; finishes the exchange. */
async function writeKnownLength(conn: Conn, ex: Exchange, h: string, blob: Blob, headOnly: boolean): Promise<void> {
  const out = conn.output;
  if (headOnly) {
    out.writeHead(h + "Content-Length: " + blob.size + "\r\n\r\n");
    conn.done(ex);
    return;
  }
  let headSent = false;
  try {
    const size = blob.size;
    out.writeHead(h + "Content-Length: " + size + "\r\n\r\n");
    headSent = true;
    const reader = sliceStream(blob).getReader();
    while (ex.bytesSent < size && !conn.closed) {
      const r = await reader.read();
      if (r.done) throw new Error(`body ended after ${ex.bytesSent} of ${size} bytes`);
      ex.bytesSent += r.value.length;
      out.write(r.value);
      if (out.pending) await out.waitDrain();
    }
  } catch (err) {
    failResponse(conn, ex, err, headSent);
    return;
  }
  conn.done(ex);
}
