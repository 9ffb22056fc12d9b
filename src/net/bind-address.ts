/**
 * Parsing and formatting of `--bind` values, following Gunicorn's `util.parse_address`.
 *
 * Accepted forms (same as Gunicorn 23):
 *
 * | spec                         | result                                   |
 * |------------------------------|------------------------------------------|
 * | `127.0.0.1:8000`             | tcp 127.0.0.1 port 8000, family 4        |
 * | `127.0.0.1`                  | tcp 127.0.0.1 port `defaultPort` (8000)  |
 * | `localhost:5000`, `LOCALHOST`| tcp `localhost` (lower-cased), family 4; resolve with {@link resolveBind} |
 * | `[::1]:8000`, `[::1]`        | tcp ::1, family 6                        |
 * | `:8000`                      | tcp 0.0.0.0:8000 (Gunicorn binds `''`, i.e. every IPv4 address) |
 * | `tcp://host:port`            | the `tcp://` prefix is dropped           |
 * | `unix:/run/app.sock`, `unix:///run/app.sock`, `unix:rel.sock` | unix socket path |
 * | `fd://3`                     | an already-open listening socket         |
 *
 * Like Gunicorn, a host name (not an IP literal) is bound as IPv4. A bare IPv6
 * literal without brackets (`::1:8000`) is refused: it is ambiguous.
 */
// Not node:net's isIPv4/isIPv6: node:net costs ~4 MB RSS in the arbiter for two regexes.
import { parseIpv4, parseIpv6 } from "./ip.ts";

const isIPv4 = (s: string): boolean => parseIpv4(s) !== null;
const isIPv6 = (s: string): boolean => parseIpv6(s) !== null;

/** Where to listen: a TCP host/port, a unix socket path, or an inherited fd. */
export type BindAddress =
  | { kind: "tcp"; host: string; port: number; family: 4 | 6 }
  | { kind: "unix"; path: string }
  | { kind: "fd"; fd: number };

/** A `--bind` value that cannot be parsed. `spec` holds the offending input. */
export class BindError extends Error {
  /** The value that was rejected. */
  readonly spec: string;
  constructor(spec: string, reason: string) {
    super(`Invalid bind address ${JSON.stringify(spec)}: ${reason}`);
    this.name = "BindError";
    this.spec = spec;
  }
}

/** Gunicorn's default port for a bind without one. */
export const DEFAULT_PORT = 8000;

const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

function parsePort(spec: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw new BindError(spec, text === "" ? "empty port" : `${JSON.stringify(text)} is not a valid port number`);
  }
  const port = Number(text);
  if (port > 65535) throw new BindError(spec, `port ${port} is out of range (0-65535)`);
  return port;
}

function ipv6Valid(host: string): boolean {
  const pct = host.indexOf("%");
  if (pct === -1) return isIPv6(host);
  const zone = host.slice(pct + 1);
  return zone !== "" && /^[\w.-]+$/.test(zone) && isIPv6(host.slice(0, pct));
}

/**
 * Parse a Gunicorn-style bind string. Pure: no DNS, no file system access.
 *
 * @param spec  e.g. `"0.0.0.0:8000"`, `"[::1]:8000"`, `"unix:/tmp/app.sock"`, `"fd://3"`.
 * @param defaultPort port used when `spec` has none (Gunicorn: 8000).
 * @returns the parsed address; host names are kept as names (family 4), see {@link resolveBind}.
 * @throws {BindError} with a one-line message naming the bad value.
 * @example
 * ```ts
 * parseBind("localhost:5000") // {kind:"tcp", host:"localhost", port:5000, family:4}
 * parseBind("[::]")           // {kind:"tcp", host:"::", port:8000, family:6}
 * parseBind("unix:/run/x.sock") // {kind:"unix", path:"/run/x.sock"}
 * ```
 */
export function parseBind(spec: string, defaultPort: number = DEFAULT_PORT): BindAddress {
  if (typeof spec !== "string") throw new BindError(String(spec), "not a string");
  const s = spec.trim();
  if (s === "") throw new BindError(spec, "empty address");

  if (s.startsWith("unix:")) {
    const path = s.startsWith("unix://") ? s.slice(7) : s.slice(5);
    if (path === "") throw new BindError(spec, "empty unix socket path");
    if (path.includes("\0")) throw new BindError(spec, "NUL byte in unix socket path");
    return { kind: "unix", path };
  }

  if (s.startsWith("fd://")) {
    const text = s.slice(5);
    if (!/^\d{1,9}$/.test(text)) throw new BindError(spec, `${JSON.stringify(text)} is not a valid file descriptor`);
    return { kind: "fd", fd: Number(text) };
  }

  let rest = s;
  if (rest.startsWith("tcp://")) rest = rest.slice(6);
  if (/\s/.test(rest)) throw new BindError(spec, "contains whitespace");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    throw new BindError(spec, `unsupported scheme ${JSON.stringify(rest.slice(0, rest.indexOf(":")))} (use HOST:PORT, unix:PATH or fd://N)`);
  }

  let host: string;
  let port = defaultPort;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close === -1) throw new BindError(spec, "missing ']' after IPv6 address");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) throw new BindError(spec, `unexpected ${JSON.stringify(after)} after ']'`);
      port = parsePort(spec, after.slice(1));
    }
    if (!ipv6Valid(host)) throw new BindError(spec, `${JSON.stringify(host)} is not a valid IPv6 address`);
    return { kind: "tcp", host: host.toLowerCase(), port: checkDefault(spec, port), family: 6 };
  }

  const colons = rest.split(":").length - 1;
  if (colons > 1) {
    throw new BindError(spec, "IPv6 addresses must be written in brackets, e.g. [::1]:8000");
  }
  if (colons === 1) {
    const i = rest.indexOf(":");
    host = rest.slice(0, i);
    port = parsePort(spec, rest.slice(i + 1));
  } else {
    host = rest;
  }
  host = host.toLowerCase();
  if (host === "") host = "0.0.0.0"; // Gunicorn binds '' = INADDR_ANY
  if (isIPv4(host)) return { kind: "tcp", host, port: checkDefault(spec, port), family: 4 };
  if (/^[\d.]+$/.test(host)) throw new BindError(spec, `${JSON.stringify(host)} is not a valid IPv4 address`);
  if (!HOSTNAME_RE.test(host)) throw new BindError(spec, `${JSON.stringify(host)} is not a valid host name`);
  return { kind: "tcp", host, port: checkDefault(spec, port), family: 4 };
}

function checkDefault(spec: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BindError(spec, `default port ${port} is out of range (0-65535)`);
  }
  return port;
}

/** `true` when `host` is an IPv4 or IPv6 literal (not a name that needs DNS). */
export function isIpLiteral(host: string): boolean {
  return isIPv4(host) || ipv6Valid(host);
}

/**
 * Resolve a TCP host name to an IP literal; other addresses are returned unchanged.
 *
 * Like Gunicorn (which binds a name with an `AF_INET` socket), an IPv4 address is
 * preferred; if the name only has IPv6 addresses, the first one is used (family 6).
 *
 * @throws {BindError} when the name does not resolve.
 * @example
 * ```ts
 * await resolveBind(parseBind("localhost:8000")) // {kind:"tcp", host:"127.0.0.1", port:8000, family:4}
 * ```
 */
export async function resolveBind(addr: BindAddress): Promise<BindAddress> {
  if (addr.kind !== "tcp" || isIpLiteral(addr.host)) return addr;
  // Loaded only for a host name (~1.3 MB RSS).
  const { lookup } = await import("node:dns/promises");
  try {
    const r = await lookup(addr.host, { family: 4 });
    return { kind: "tcp", host: r.address, port: addr.port, family: 4 };
  } catch {
    try {
      const r = await lookup(addr.host, { family: 6 });
      return { kind: "tcp", host: r.address, port: addr.port, family: 6 };
    } catch (err) {
      throw new BindError(`${addr.host}:${addr.port}`, `cannot resolve host ${JSON.stringify(addr.host)} (${(err as Error).message})`);
    }
  }
}

/**
 * Format an address the way Gunicorn logs it ("Listening at: ...").
 *
 * @example
 * ```ts
 * formatBind({kind:"tcp", host:"127.0.0.1", port:8000, family:4}) // "http://127.0.0.1:8000"
 * formatBind({kind:"tcp", host:"::1", port:8000, family:6})       // "http://[::1]:8000"
 * formatBind({kind:"unix", path:"/tmp/x.sock"})                   // "unix:/tmp/x.sock"
 * formatBind({kind:"fd", fd:3})                                   // "fd://3"
 * formatBind({kind:"tcp", host:"127.0.0.1", port:8443, family:4}, "https") // "https://127.0.0.1:8443"
 * ```
 *
 * `scheme` is `https` when the server speaks TLS; a unix socket shows `unix:PATH` either way,
 * as in Gunicorn.
 */
export function formatBind(addr: BindAddress, scheme: "http" | "https" = "http"): string {
  switch (addr.kind) {
    case "tcp":
      return addr.family === 6 ? `${scheme}://[${addr.host}]:${addr.port}` : `${scheme}://${addr.host}:${addr.port}`;
    case "unix":
      return `unix:${addr.path}`;
    case "fd":
      return `fd://${addr.fd}`;
  }
}

/** `host:port` (`[v6]:port`) / path / `fd://N`: the short form used in error messages. */
export function describeBind(addr: BindAddress): string {
  switch (addr.kind) {
    case "tcp":
      return addr.family === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
    case "unix":
      return addr.path;
    case "fd":
      return `fd://${addr.fd}`;
  }
}
