/**
 * @module
 * What Bun.serve's parser lets through that bunicorn's engine refuses or fixes, checked before the
 * app in reuse-port mode, so that the app sees the same requests in every mode (the whole
 * comparison, case by case, is in docs/design.md, "What the app sees"):
 *
 * - **Host.** Bun builds `req.url` from the Host header as it is: without one (HTTP/1.0; Bun
 *   refuses HTTP/1.1 without) or with an empty one, `req.url` is the bare path (`/p`), which
 *   `new URL()` rejects; it then gets the listener's address, as the engine gives the
 *   connection's (and CONNECT's bare `host:port` becomes `http://host:port/`, as in the engine). A Host that is no authority (`a b/c`, `[::1`, `a:99999`, `1.2.3.4.5`) or a
 *   repeated one (Bun joins them, `a, b`, and routes on the first) is a plain 400, as in the engine
 *   (Gunicorn 26 refuses a second Host).
 * - **A repeated Content-Type** (joined by Bun as `a/b, c/d`) is a plain 400, as in the engine.
 * - **`limit_request_line`** and **`limit_request_fields`**, at their values in this mode (the
 *   defaults: other values select shared-socket mode, see src/arbiter/listeners.ts): the request
 *   line is measured as method, the target as `req.url` has it, and the version (Bun gives no raw
 *   target; dot segments are already resolved), a plain 400 beyond it; fields are counted as
 *   `req.headers` holds them (repeated names once), a plain 431 beyond it.
 *
 * The cost on a plain request, on top of the head the fetch wrapper reads once ({@link Head}):
 * `headers.count`, a Host seen before (a Set lookup; a new one's characters are checked once),
 * Content-Type, and `req.url`'s length (under 0.1 µs in all, no allocation beyond Bun's strings).
 * `limit_request_field_size` is not checked here: that needs a pass over every field value, so a
 * request in this mode may carry a field of up to Bun's own 16 KiB head limit.
 */
import type { Server } from "bun";
import type { Settings } from "../config/registry.ts";
import { hostCharsValid } from "../http/host.ts";
import { DEFAULT_LIMIT_REQUEST_FIELDS, DEFAULT_LIMIT_REQUEST_LINE, MAX_HEADERS, MAX_REQUEST_LINE } from "../http/limits.ts";

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 431: "Request Header Fields Too Large" };

/** The engine's plain error: the status text, `Connection: close`. */
function refuse(status: 400 | 431): Response {
  return new Response(`${STATUS_TEXT[status]}\n`, { status, headers: { "content-type": "text/plain", connection: "close" } });
}

/** The request-line limit as the engine resolves it (0, unlimited, never reaches this mode). */
function lineLimit(v: number): number {
  if (!(v > 0)) return v === 0 ? Infinity : MAX_REQUEST_LINE;
  return Math.min(v, MAX_REQUEST_LINE);
}

/** The field-count limit as the engine resolves it. */
function fieldsLimit(v: number): number {
  return v > 0 && v <= MAX_HEADERS ? v : MAX_HEADERS;
}

/**
 * A request's head as `req.headers.toJSON()` gives it: each name (lower-cased) once, with the
 * value `headers.get()` gives (repeated fields joined), `set-cookie` as a list. Read once per
 * request by the fetch wrapper (reuse-port-fetch.ts) for every check before the app: one native
 * call instead of a `get()` per name and a pass over `keys()` (docs/design.md, "The reuse-port
 * hot path"). Its own properties only: a header named `__proto__` is one of them.
 */
export type Head = Readonly<Record<string, string | readonly string[] | undefined>>;

/** How many Host values already found usable are remembered (the set is emptied when full). */
const USABLE_HOSTS_MAX = 64;

/** Reuse-port mode's checks before the app: null when the request goes on (its `req.url` made usable), or the 400/431 to send. */
export function reusePortChecks(cfg: Readonly<Settings>): (req: Request, server: Server<unknown>, h: Headers, head: Head) => Response | null {
  const maxLine = lineLimit(cfg.limit_request_line ?? DEFAULT_LIMIT_REQUEST_LINE);
  const maxFields = fieldsLimit(cfg.limit_request_fields ?? DEFAULT_LIMIT_REQUEST_FIELDS);
  // The request line is longer than the URL's target by the method, two spaces and `HTTP/1.1`
  // (a method has at most 20 characters here): shorter URLs skip the exact count.
  const urlCheckFrom = maxLine - 30;
  // Hosts of the common shapes found usable: a server sees few, and a hit skips the character checks.
  const usable = new Set<string>();
  return (req, server, h, head) => {
    if (h.count > maxFields) return refuse(431);
    const url = req.url;
    // Host must be one authority the URL parser took: an authority's characters (no space, so no
    // joined repeat), and a common shape (`name.example`, `name:8000`, `127.0.0.1:8000`) or, for
    // anything rarer (IP literals, `%`, numeric last labels), `url` parses.
    const host = head.host as string | undefined;
    if (host !== undefined && host !== "" && !usable.has(host)) {
      if (!hostCharsValid(host)) return refuse(400);
      if (commonHost(host)) {
        if (usable.size >= USABLE_HOSTS_MAX) usable.clear();
        usable.add(host);
      } else if (!URL.canParse(url)) return refuse(400);
    }
    // `http://` and `https://` both have a '/' at index 6; a bare path or CONNECT's authority is no URL.
    if (url.charCodeAt(0) !== 104 /* h */ || url.charCodeAt(6) !== 47 /* / */) {
      const fixed = usableUrl(url, server);
      if (fixed === null) return refuse(400);
      setUrl(req, fixed);
    }
    if (url.length > urlCheckFrom && requestLineLength(req, url) > maxLine) return refuse(400);
    const ct = head["content-type"] as string | undefined;
    if (ct !== undefined && isJoined(ct)) return refuse(400);
    return null;
  };
}

/**
 * A URL for what Bun.serve gave as `req.url` when it is none: a bare path (HTTP/1.0 without Host,
 * or an empty Host) gets the listener's origin; CONNECT's authority (`example.com:443`) becomes
 * `http://example.com:443/`, as in the engine. Null when even that does not parse.
 */
function usableUrl(url: string, server: Server<unknown>): string | null {
  const fixed = url.charCodeAt(0) === 47 ? listenerOrigin(server) + url : `${server.protocol === "https" ? "https" : "http"}://${url}/`;
  return URL.canParse(fixed) ? fixed : null;
}

/** `req.url` replaced (an own property: Bun keeps the URL in native code, with no setter). */
function setUrl(req: Request, url: string): void {
  Object.defineProperty(req, "url", { value: url, enumerable: true, configurable: true });
}

/** `http://HOST:PORT` of the Bun.serve instance (its bind address, as Gunicorn's `SERVER_NAME`). */
function listenerOrigin(server: Server<unknown>): string {
  const hostname = server.hostname ?? "localhost";
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `${server.protocol === "https" ? "https" : "http"}://${host}${server.port !== undefined ? `:${server.port}` : ""}`;
}

/** The request line's length: the method, the target as `req.url` has it, the version, two spaces. */
function requestLineLength(req: Request, url: string): number {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return req.method.length + 1 + (start < 0 ? 1 : url.length - start) + 9;
}

/** `labels[.labels][:port]` with letters, digits, `-` and `_`, the last label starting with a letter, or a dotted quad; a port up to 65535. */
function commonHost(host: string): boolean {
  let end = host.length;
  const colon = host.indexOf(":");
  if (colon >= 0) {
    if (colon === 0 || host.length - colon - 1 > 5 || host.length === colon + 1) return false;
    let port = 0;
    for (let k = colon + 1; k < host.length; k++) {
      const c = host.charCodeAt(k);
      if (c < 48 || c > 57) return false;
      port = port * 10 + (c - 48);
    }
    if (port > 65535) return false;
    end = colon;
  }
  const lastDot = host.lastIndexOf(".", end - 1);
  const c0 = host.charCodeAt(lastDot + 1);
  if ((c0 | 0x20) >= 97 && (c0 | 0x20) <= 122) {
    // A name: letters, digits, '-', '_' in non-empty labels; `--` (punycode) is left to the URL parser.
    let prev = 46;
    for (let k = 0; k < end; k++) {
      const c = host.charCodeAt(k);
      const alnum = (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c === 95 || (c === 45 && prev !== 45);
      if (!alnum && !(c === 46 && prev !== 46)) return false;
      prev = c;
    }
    return true;
  }
  return dottedQuad(host, end);
}

/** Four decimal numbers of 0-255 without leading zeros (what the URL parser reads as written). */
function dottedQuad(host: string, end: number): boolean {
  let parts = 0;
  let n = -1;
  let digits = 0;
  for (let k = 0; k <= end; k++) {
    const c = k === end ? 46 : host.charCodeAt(k);
    if (c === 46) {
      if (digits === 0 || n > 255) return false;
      parts++;
      n = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return false;
      n = (n < 0 ? 0 : n * 10) + (c - 48);
      digits++;
    } else return false;
  }
  return parts === 4;
}

/** Whether a field's value is two lines Bun joined (`, ` outside a quoted string). */
function isJoined(v: string): boolean {
  let i = v.indexOf(", ");
  if (i < 0) return false;
  if (v.indexOf('"') < 0) return true;
  let quoted = false;
  for (i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 92 && quoted) i++;
    else if (c === 44 && !quoted && v.charCodeAt(i + 1) === 32) return true;
  }
  return false;
}
