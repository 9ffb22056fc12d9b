/**
 * @module
 * Static and file routes (`"/health": new Response("OK")`, `"/logo.png": Bun.file(path)`) as
 * handlers that answer as Bun.serve 1.4.4 answers them itself, so that they can go through the
 * worker's `handle()` like every other request.
 *
 * A static route (a Response whose body is in memory) keeps its status and headers, gets a
 * `Content-Type` from its body when it has none, and an `ETag` (`"<xxHash64 of the body, 16 hex
 * digits>"`) when its body is not empty and it has none. (One difference: a body without a type,
 * bytes or an untyped Blob, gets `text/plain;charset=utf-8`, where Bun sends no `Content-Type`:
 * Bun 1.4.4 shows JavaScript no difference between such a body and a string's.) A GET or HEAD with an `If-None-Match`
 * that matches the ETag (weak comparison, a list, or `*`) of a 200 gets a 304 with the same
 * headers and no body.
 *
 * A file route (a `Bun.file`, or a Response of one) is opened on every request: a file that does
 * not exist (or is a directory) passes the request on to the next matching route, as Bun's
 * does. Otherwise it gets `Last-Modified` (the file's mtime, unless the Response set one), a 304
 * for a GET or HEAD whose `If-Modified-Since` is not older (or whose `If-None-Match` is `*`) when
 * the route's status is 200. The body is the file, so the server
 * sends it as it sends any file response (sendfile, Range requests).
 */
import { statSync } from "node:fs";
import type { RouteHandler } from "./routes.ts";

/** The handler of a static Response route. */
export async function staticRoute(res: Response): Promise<RouteHandler> {
  const status = res.status;
  const statusText = res.statusText;
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  headers.delete("transfer-encoding");
  const blob = await res.clone().blob();
  // The body's type as Bun adds it to a static route (a string's text/plain; see the module comment).
  if (!headers.has("content-type") && blob.type !== "") headers.set("content-type", blob.type);
  const body = new Uint8Array(await blob.arrayBuffer());
  let etag = headers.get("etag");
  if (etag === null && body.byteLength > 0) {
    etag = `"${Bun.hash.xxHash64(body).toString(16).padStart(16, "0")}"`;
    headers.append("etag", etag);
  }
  const ok = status === 200 && etag !== null && etag !== "";
  return (req) => {
    if (ok) {
      const inm = req.headers.get("if-none-match");
      if (inm !== null && inm !== "" && (req.method === "GET" || req.method === "HEAD") && ifNoneMatch(etag!, inm)) {
        return new Response(null, { status: 304, headers });
      }
    }
    return new Response(body.byteLength > 0 ? body : null, { status, statusText, headers });
  };
}

/** The handler of a file route: `file` (a `Bun.file`), with `res`'s status and headers when given. */
export function fileRoute(file: Blob, res: Response | null): RouteHandler {
  const path = (file as Blob & { name?: unknown }).name;
  const status = res?.status ?? 200;
  const headers = new Headers(res?.headers);
  if (!headers.has("content-type") && file.type !== "") headers.set("content-type", file.type);
  const userLastModified = headers.get("last-modified");
  const userModifiedAt = userLastModified === null ? Number.NaN : Date.parse(userLastModified);
  /** The file's stat when it can be served, else null. */
  const stat = () => {
    if (typeof path !== "string") return null;
    try {
      const st = statSync(path);
      return st.isDirectory() ? null : st;
    } catch {
      return null;
    }
  };
  const handler: RouteHandler = (req) => {
    const st = stat();
    if (st === null) return new Response(null, { status: 404 });
    const out = new Headers(headers);
    const modifiedAt = Number.isFinite(userModifiedAt) ? userModifiedAt : Math.floor(st.mtimeMs / 1000) * 1000;
    if (userLastModified === null) out.set("last-modified", new Date(modifiedAt).toUTCString());
    if (status === 200 && (req.method === "GET" || req.method === "HEAD")) {
      const ims = req.headers.get("if-modified-since");
      const since = ims === null ? Number.NaN : Date.parse(ims);
      if ((Number.isFinite(since) && modifiedAt <= since) || trimBlanks(req.headers.get("if-none-match") ?? "") === "*") {
        return new Response(null, { status: 304, headers: out });
      }
    }
    return new Response(Bun.file(path as string), { status, headers: out });
  };
  handler.available = () => stat() !== null;
  return handler;
}

/** RFC 9110's weak comparison of `etag` with an `If-None-Match` list (or `*`), as Bun does it. */
export function ifNoneMatch(etag: string, header: string): boolean {
  if (trimBlanks(header) === "*") return true;
  const ours = opaqueTag(etag);
  for (const t of header.split(",")) if (opaqueTag(t) === ours) return true;
  return false;
}

/** An entity tag without its `W/` and quotes. */
function opaqueTag(tag: string): string {
  let s = trimBlanks(tag);
  if (s.startsWith("W/")) s = s.slice(2).replace(/^[ \t]+/, "");
  if (s.length >= 2 && s[0] === '"' && s[s.length - 1] === '"') s = s.slice(1, -1);
  return s;
}

/** `s` without the spaces and tabs around it (Bun trims only those). */
function trimBlanks(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, "");
}
