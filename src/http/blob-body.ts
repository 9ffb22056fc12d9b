/**
 * Internal: tells a `Response` whose body is a `Blob` (in memory, or a `Bun.file`) from one whose
 * body is a stream, without consuming either.
 *
 * Bun 1.4.4 exposes no property for this: `res.body` turns every body into a `ReadableStream`,
 * and `res.blob()` on a stream reads it to the end (fatal for a live stream). The one place the
 * difference shows is `Bun.inspect(res)`, whose last entry is the body: `FileRef ("path") {…}`
 * (with `offset: N` for a slice), `FileRef (fd: N) {…}`, `Blob (N bytes) {…}` or
 * `ReadableStream {…}`. Inspecting costs about 4 µs, so callers use it only for bodies that are not
 * plain in-memory bytes (those are told apart with `estimateShallowMemoryUsageOf` first). The
 * format is checked once at load time ({@link BLOB_BODY_DETECTION}); if it ever differs, detection
 * is off and every such body is treated as a stream, which is always correct, only slower.
 *
 * Not part of the public API.
 * @module
 */
import { estimateShallowMemoryUsageOf } from "bun:jsc";

/** A Response body that is a `Blob`; `res.blob()` has been called and returned it. */
export interface BlobBody {
  /** The body (for a file: a lazily read `Bun.file` Blob, or a slice of one). */
  blob: Blob | Promise<Blob>;
  /** Set when the Blob is backed by a file: its path, or the fd it was opened from. */
  file: { path: string | null; fd: number; offset: number } | null;
}

const BODY_MARK = "\n  bodyUsed: false,\n  ";
/** The slice offset, the last line of a FileRef body (anchored: a path may contain anything). */
const OFFSET_RE = /\n {4}offset: (\d+)\n\n {2}\}\n\}$/;

/** The body of `res` when it is a Blob or a file, else null (the body is then untouched). */
export function blobBodyOf(res: Response): BlobBody | null {
  if (!BLOB_BODY_DETECTION) return null;
  return detect(res);
}

/**
 * What the body of `res` is, read from `Bun.inspect` without touching the body: none (or
 * already used), a stream (or anything unrecognised), an in-memory Blob, or a file (by path,
 * `fd` -1, or by fd; `offset` for a slice). Costs about 3 µs (11 for a stream); the caller checks
 * {@link BLOB_BODY_DETECTION} first.
 */
export function bodyShapeOf(res: Response): BodyShape {
  const s = Bun.inspect(res, { depth: 0 });
  const i = s.lastIndexOf(BODY_MARK);
  if (i < 0) return NO_BODY;
  const at = i + BODY_MARK.length;
  if (s.startsWith("FileRef (", at)) {
    const m = OFFSET_RE.exec(s.slice(at));
    const offset = m === null ? 0 : Number(m[1]);
    let fd = -1;
    if (s.startsWith("FileRef (fd: ", at)) {
      fd = Number.parseInt(s.slice(at + 13), 10);
      if (!(fd >= 0)) return STREAM;
    }
    return { kind: "file", fd, offset };
  }
  return s.startsWith("Blob (", at) ? BLOB : STREAM;
}

export type BodyShape = { kind: "none" | "stream" | "blob" } | { kind: "file"; fd: number; offset: number };
const NO_BODY: BodyShape = { kind: "none" };
const STREAM: BodyShape = { kind: "stream" };
const BLOB: BodyShape = { kind: "blob" };

function detect(res: Response): BlobBody | null {
  const shape = bodyShapeOf(res);
  if (shape.kind !== "file" && shape.kind !== "blob") return null;
  let file: BlobBody["file"] = shape.kind === "file" ? { path: null, fd: shape.fd, offset: shape.offset } : null;
  const p = res.blob();
  const blob = Bun.peek.status(p) === "fulfilled" ? (Bun.peek(p) as Blob) : p;
  if (file !== null && file.fd < 0) {
    const name = blob instanceof Blob ? (blob as Blob & { name?: unknown }).name : undefined;
    if (typeof name !== "string") {
      // A file body whose path is not at hand: read it like any Blob.
      file = null;
    } else file.path = name;
  }
  return { blob, file };
}

/**
 * Whether {@link blobBodyOf} works on this Bun: checked once on a file slice, an in-memory Blob
 * and a stream (which must come back untouched).
 */
export const BLOB_BODY_DETECTION: boolean = ((): boolean => {
  try {
    const path = import.meta.path;
    const f = detect(new Response(Bun.file(path).slice(3, 10)));
    if (f === null || f.file === null || f.file.path !== path || f.file.offset !== 3) return false;
    if (!(f.blob instanceof Blob) || f.blob.size !== 7) return false;
    const b = detect(new Response(new Blob(["ab"])));
    if (b === null || b.file !== null || !(b.blob instanceof Blob) || b.blob.size !== 2) return false;
    const sr = new Response(new ReadableStream({ pull: (c) => c.close() }));
    if (detect(sr) !== null || sr.bodyUsed) return false;
    return true;
  } catch {
    return false;
  }
})();

/**
 * Whether a file body is the whole file rather than a slice of it, as Bun.serve decides whether a
 * Range header applies (measured on 1.4.4): `Bun.file(p)` and `Bun.file(p).slice(0)` are whole
 * (the Blob's size is the file's, or the open-ended maximum); a slice with an offset or an end is
 * not, and is sent as it is, with the response's status, whatever the Range.
 */
export function wholeFile(offset: number, blobSize: number, fileSize: number): boolean {
  return offset === 0 && (blobSize === fileSize || blobSize >= OPEN_ENDED);
}
/** `Bun.file(p).slice(n).size` is this minus n: the end is open. */
const OPEN_ENDED = 2 ** 52 - 1;

/** JSC's shallow size of a Response without a body: more means an owned in-memory body. */
export const EMPTY_RESPONSE_SIZE = estimateShallowMemoryUsageOf(new Response(null));

/**
 * Whether `res` holds its body in memory (a string or bytes), so that `res.blob()` resolves at
 * once: a few ns, without touching the body. JSC's shallow size of a Response counts such a body,
 * but also the Response's `url` and `statusText`: a Response from `fetch()` has a url and its body
 * is a stream however much of it has arrived, so only a Response without a url counts, and its
 * shallow size must exceed that of `new Response(null)` by more than twice its statusText. Callers
 * check {@link IN_MEMORY_DETECTION} first.
 */
export function inMemoryBody(res: Response): boolean {
  return res.url === "" && estimateShallowMemoryUsageOf(res) - EMPTY_RESPONSE_SIZE > 2 * res.statusText.length;
}

/** Whether {@link inMemoryBody} holds on this Bun: checked once at load time. */
export const IN_MEMORY_DETECTION: boolean = ((): boolean => {
  try {
    if (inMemoryBody(new Response(new ReadableStream({ pull: (c) => c.close() }), { statusText: "Some Status" }))) return false;
    if (inMemoryBody(new Response(Bun.file(import.meta.path)))) return false;
    if (inMemoryBody(new Response(null, { statusText: "x".repeat(100) }))) return false;
    const r = new Response("ab");
    if (!inMemoryBody(r)) return false;
    return Bun.peek.status(r.clone().blob()) === "fulfilled" && Bun.peek.status(r.blob()) === "fulfilled";
  } catch {
    return false;
  }
})();
/** Bytes read per step when a file goes through user space. */
const READ_SLICE = 256 * 1024;

/**
 * `sendfile = false` for `Bun.serve` (reuse-port and gthread workers): Bun sends a file body with
 * sendfile(2) even when it is wrapped in `blob.stream()`, so a file body is replaced by a stream
 * that reads the file in slices from JavaScript (Bun then frames it as chunked). Other responses
 * are returned as they are.
 */
export function withoutSendfile(res: Response): Response {
  if (estimateShallowMemoryUsageOf(res) > EMPTY_RESPONSE_SIZE || !res.headers.has("content-type")) return res;
  const bb = blobBodyOf(res);
  if (bb === null) return res;
  const init = { status: res.status, statusText: res.statusText, headers: res.headers };
  if (bb.file === null) return new Response(bb.blob instanceof Blob ? bb.blob : sliceStream(bb.blob), init);
  return new Response(sliceStream(bb.blob), init);
}

/** A stream reading `blob` (a file) slice by slice through user space. */
export function sliceStream(blob: Blob | Promise<Blob>): ReadableStream<Uint8Array> {
  let b: Blob | null = null;
  let pos = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (b === null) b = await blob;
      if (pos >= b.size) return ctl.close();
      const chunk = await b.slice(pos, pos + READ_SLICE).bytes();
      if (chunk.length === 0) return ctl.close();
      pos += chunk.length;
      ctl.enqueue(chunk);
    },
  });
}
