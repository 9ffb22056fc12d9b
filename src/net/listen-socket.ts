/**
 * Listening sockets that the arbiter owns but never serves.
 *
 * Bun's own listeners (`Bun.listen`, `node:net`) register their fd with the event loop, so a
 * parent that created one keeps accepting connections meant for its workers. These sockets
 * are made with raw libc calls through `bun:ffi` instead: Bun does not know about them, the
 * parent never accepts, and they can be handed to any number of workers through
 * `Bun.spawn(cmd, {stdio: ["ignore", "inherit", "inherit", fd]})` (the child sees fd 3)
 * and served there with `Bun.listen({fd: 3, socket: {...}})`.
 *
 * Every socket is created `SOCK_NONBLOCK` (several workers wake up for one connection; the
 * losers must get `EAGAIN`, not block their event loop) and `SOCK_CLOEXEC` (it is only
 * passed on on purpose: Bun.spawn's stdio mapping `dup2`s it, which clears the flag on the
 * child's copy).
 *
 * Linux only. On other platforms {@link openListenSocket} throws; the inspection helpers
 * return `null` / do nothing.
 */
import { chownSync, closeSync, lstatSync, unlinkSync } from "node:fs";
import { C, check, errno, libc, requireLibc, SyscallError, errnoNumber } from "../os/index.ts";
import { describeBind, isIpLiteral, type BindAddress } from "./bind-address.ts";

/** Options for {@link openListenSocket}. */
export type ListenSocketOptions = {
  /** `listen()` backlog (Gunicorn `--backlog`). The kernel caps it at `net.core.somaxconn`. Default 2048. */
  backlog?: number;
  /** Set `SO_REUSEPORT` (Gunicorn `--reuse-port`). Default `false`. */
  reusePort?: boolean;
  /**
   * umask applied around `bind()` of a unix socket (Gunicorn `--umask`); the socket file's
   * mode is `0o777 & ~umask`. Default: leave the process umask alone.
   */
  umask?: number;
  /** chown the unix socket file after bind (Gunicorn chowns it to `--user`/`--group`). */
  owner?: { uid: number; gid: number };
  /**
   * IPv6 sockets only: set `IPV6_V6ONLY` to this value. Default `undefined` keeps the
   * kernel default (`net.ipv6.bindv6only`, normally 0: `[::]` also accepts IPv4), which is
   * what Gunicorn does. Pass `true` to bind `0.0.0.0:P` and `[::]:P` side by side.
   */
  v6Only?: boolean;
  /**
   * Set `TCP_NODELAY` on the listening socket (Gunicorn does). Linux copies it to every
   * accepted connection. Default `true`.
   */
  noDelay?: boolean;
  /**
   * TCP only: set `TCP_DEFER_ACCEPT` (1 s) on the listening socket, as `Bun.serve` does on its
   * own: a connection is handed to `accept()` only once its first bytes arrived (or after about
   * a second of silence), so a worker wakes once per connection instead of once for the accept
   * and again for the request. Default `true`.
   */
  deferAccept?: boolean;
  /**
   * For unix paths: when something already exists at the path, remove it if it is a socket
   * nobody listens on (a stale file left by a crash). A socket that still accepts
   * connections is refused with `EADDRINUSE`; a non-socket is refused with `EEXIST`.
   * Default `true`.
   */
  removeStale?: boolean;
};

/** What {@link socketInfo} reports about a listening socket. */
export type SocketInfo =
  | { family: "tcp4"; host: string; port: number }
  | { family: "tcp6"; host: string; port: number; scopeId: number }
  | { family: "unix"; path: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

type SockAddr = { buf: Uint8Array; len: number; family: number };

function u16be(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}
function u16le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >> 8) & 0xff;
}

function inetAddr(host: string, port: number, family: 4 | 6): SockAddr {
  const lib = requireLibc("openListenSocket");
  if (family === 4) {
    const buf = new Uint8Array(16);
    u16le(buf, 0, C.AF_INET);
    u16be(buf, 2, port);
    if (lib.inet_pton(C.AF_INET, host, buf.subarray(4, 8)) !== 1) {
      throw new Error(`invalid IPv4 address ${JSON.stringify(host)}`);
    }
    return { buf, len: 16, family: C.AF_INET };
  }
  const buf = new Uint8Array(28);
  u16le(buf, 0, C.AF_INET6);
  u16be(buf, 2, port);
  let ip = host;
  let scope = 0;
  const pct = host.indexOf("%");
  if (pct !== -1) {
    ip = host.slice(0, pct);
    const zone = host.slice(pct + 1);
    scope = /^\d+$/.test(zone) ? Number(zone) : lib.if_nametoindex(zone);
    if (scope === 0) throw new Error(`unknown IPv6 zone ${JSON.stringify(zone)} in ${JSON.stringify(host)}`);
  }
  const addr = new Uint8Array(16);
  if (lib.inet_pton(C.AF_INET6, ip, addr) !== 1) throw new Error(`invalid IPv6 address ${JSON.stringify(host)}`);
  buf.set(addr, 8);
  new DataView(buf.buffer).setUint32(24, scope, true);
  return { buf, len: 28, family: C.AF_INET6 };
}

/** Build a `sockaddr_un`. A leading `@` or NUL means the abstract namespace. */
export function unixSockAddr(path: string): SockAddr {
  const abstract = path.startsWith("@") || path.startsWith("\0");
  const bytes = enc.encode(abstract ? path.slice(1) : path);
  const max = C.SUN_PATH_MAX - 1; // room for the trailing NUL (or the leading NUL of an abstract name)
  if (bytes.length > max || bytes.length === 0) {
    const e = new SyscallError("bind", errnoNumber("ENAMETOOLONG") ?? 36, path);
    e.message += bytes.length === 0 ? ": empty path" : `: unix socket paths are limited to ${max} bytes (this one has ${bytes.length})`;
    throw e;
  }
  const buf = new Uint8Array(C.SOCKADDR_UN_SIZE);
  u16le(buf, 0, C.AF_UNIX);
  if (abstract) {
    buf.set(bytes, 3); // sun_path[0] = 0
    return { buf, len: 2 + 1 + bytes.length, family: C.AF_UNIX };
  }
  buf.set(bytes, 2);
  return { buf, len: 2 + bytes.length + 1, family: C.AF_UNIX };
}

function setIntOpt(fd: number, level: number, name: number, value: number, what: string, target: string): void {
  const lib = requireLibc("setsockopt");
  const v = new Int32Array([value]);
  check(lib.setsockopt(fd, level, name, v, 4), `setsockopt(${what})`, target);
}

function getIntOpt(fd: number, level: number, name: number): number | null {
  const lib = libc();
  if (lib === null) return null;
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  return lib.getsockopt(fd, level, name, v, len) < 0 ? null : (v[0] ?? null);
}

/**
 * Probe a unix socket path: `"live"` if something accepts connections on it,
 * `"stale"` if nothing listens (ECONNREFUSED), otherwise a SyscallError for other failures.
 */
function probeUnix(path: string): "live" | "stale" {
  const lib = requireLibc("openListenSocket");
  const sa = unixSockAddr(path);
  const fd = check(lib.socket(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), "socket", path);
  try {
    if (lib.connect(fd, sa.buf, sa.len) === 0) return "live";
    const err = new SyscallError("connect", errno(), path);
    if (err.code === "ECONNREFUSED") return "stale";
    if (err.code === "EAGAIN" || err.code === "EINPROGRESS") return "live"; // backlog full: alive
    throw err;
  } finally {
    lib.close(fd);
  }
}

/**
 * Remove a leftover unix socket file so the path can be bound again.
 * Does nothing when the path does not exist.
 *
 * @throws `SyscallError` with code `EEXIST` when the path is not a socket (a regular file,
 *   a directory...), or `EADDRINUSE` when a process still accepts connections on it.
 */
export function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) {
    const e = new SyscallError("bind", errnoNumber("EEXIST") ?? 17, path);
    e.message = `bind ${path}: [Errno ${e.errno}] path exists and is not a socket; refusing to remove it (EEXIST)`;
    throw e;
  }
  if (probeUnix(path) === "live") {
    const e = new SyscallError("bind", errnoNumber("EADDRINUSE") ?? 98, path);
    e.message += ": another process is listening on this socket";
    throw e;
  }
  unlinkSync(path);
}

/**
 * Create a listening socket that Bun does not poll, ready to be passed to workers.
 *
 * - TCP: `SO_REUSEADDR` always, `SO_REUSEPORT` when asked, `TCP_NODELAY` unless
 *   `noDelay: false`, `TCP_DEFER_ACCEPT` unless `deferAccept: false`, `IPV6_V6ONLY` only when `v6Only` is given. The host must be an IP
 *   literal (resolve names first with `resolveBind`).
 * - unix: a stale socket file is removed first (never a regular file), the `umask` is
 *   applied around `bind()`, then the optional `owner` chown.
 * - fd: the fd is checked with {@link adoptListenSocket} and returned.
 *
 * @returns the listening fd (non-blocking, close-on-exec).
 * @throws `SyscallError` whose `code` is the errno name and whose message carries the address,
 *   e.g. `bind 127.0.0.1:8000: [Errno 98] Address already in use (EADDRINUSE)`.
 * @example
 * ```ts
 * const fd = openListenSocket(parseBind("127.0.0.1:8000"), { backlog: 2048 });
 * Bun.spawn(["bun", "worker.ts"], { stdio: ["ignore", "inherit", "inherit", fd] }); // fd 3 in the child
 * ```
 */
export function openListenSocket(addr: BindAddress, options: ListenSocketOptions = {}): number {
  const backlog = options.backlog ?? 2048;
  if (!Number.isInteger(backlog) || backlog <= 0) throw new RangeError(`backlog must be a positive integer, got ${backlog}`);
  if (addr.kind === "fd") {
    adoptListenSocket(addr.fd);
    return addr.fd;
  }
  const lib = requireLibc("openListenSocket");
  const target = describeBind(addr);
  let sa: SockAddr;
  if (addr.kind === "tcp") {
    if (!isIpLiteral(addr.host)) {
      throw new Error(`openListenSocket ${target}: ${JSON.stringify(addr.host)} is a host name; resolve it first (resolveBind)`);
    }
    sa = inetAddr(addr.host, addr.port, addr.family);
  } else {
    sa = unixSockAddr(addr.path);
    const abstract = addr.path.startsWith("@") || addr.path.startsWith("\0");
    if (!abstract && options.removeStale !== false) removeStaleSocket(addr.path);
  }

  const fd = check(lib.socket(sa.family, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), "socket", target);
  try {
    setIntOpt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1, "SO_REUSEADDR", target);
    if (options.reusePort === true) {
      try {
        setIntOpt(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1, "SO_REUSEPORT", target);
      } catch (err) {
        // Gunicorn ignores these two: the option is not supported for this socket type.
        const code = (err as SyscallError).code;
        if (code !== "ENOPROTOOPT" && code !== "EINVAL") throw err;
      }
    }
    if (addr.kind === "tcp") {
      if (addr.family === 6 && options.v6Only !== undefined) {
        setIntOpt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, options.v6Only ? 1 : 0, "IPV6_V6ONLY", target);
      }
      if (options.noDelay !== false) setIntOpt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1, "TCP_NODELAY", target);
      if (options.deferAccept !== false) setIntOpt(fd, C.IPPROTO_TCP, C.TCP_DEFER_ACCEPT, 1, "TCP_DEFER_ACCEPT", target);
      check(lib.bind(fd, sa.buf, sa.len), "bind", target);
    } else {
      const old = options.umask === undefined ? undefined : process.umask(options.umask);
      try {
        check(lib.bind(fd, sa.buf, sa.len), "bind", target);
      } finally {
        if (old !== undefined) process.umask(old);
      }
      if (options.owner !== undefined && !addr.path.startsWith("@")) {
        chownSync(addr.path, options.owner.uid, options.owner.gid);
      }
    }
    check(lib.listen(fd, backlog), "listen", target);
    return fd;
  } catch (err) {
    lib.close(fd);
    throw err;
  }
}

/**
 * Close an fd (a listening socket made here, an adopted one...). Unlike `Bun.listen`'s
 * `stop()`, this never touches a socket file; remove one with `fs.unlinkSync` if needed.
 *
 * @throws `SyscallError` (`EBADF`) when the fd is not open.
 */
export function closeFd(fd: number): void {
  const lib = libc();
  if (lib === null) {
    closeSync(fd);
    return;
  }
  check(lib.close(fd), "close", `fd ${fd}`);
}

/**
 * Describe a listening socket: its family and local address (from `getsockname`).
 * Used to adopt and log `fd://N` and systemd sockets, and to read back port 0.
 *
 * @returns `null` when the fd is not open, not a socket, not a stream socket, not in
 *   listening state (`SO_ACCEPTCONN` = 0), of another family, or on non-Linux platforms.
 * @example
 * ```ts
 * socketInfo(fd) // {family:"tcp4", host:"127.0.0.1", port:41234}
 * ```
 */
export function socketInfo(fd: number): SocketInfo | null {
  const lib = libc();
  if (lib === null || !Number.isInteger(fd) || fd < 0) return null;
  if (getIntOpt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN) !== 1) return null;
  if (getIntOpt(fd, C.SOL_SOCKET, C.SO_TYPE) !== C.SOCK_STREAM) return null;
  const buf = new Uint8Array(128);
  const len = new Uint32Array([buf.length]);
  if (lib.getsockname(fd, buf, len) < 0) return null;
  const n = Math.min(len[0] ?? 0, buf.length);
  const family = (buf[0] ?? 0) | ((buf[1] ?? 0) << 8);
  const port = ((buf[2] ?? 0) << 8) | (buf[3] ?? 0);
  if (family === C.AF_INET) {
    return { family: "tcp4", host: ntop(C.AF_INET, buf.subarray(4, 8)), port };
  }
  if (family === C.AF_INET6) {
    const scopeId = new DataView(buf.buffer).getUint32(24, true);
    return { family: "tcp6", host: ntop(C.AF_INET6, buf.subarray(8, 24)), port, scopeId };
  }
  if (family === C.AF_UNIX) {
    const raw = buf.subarray(2, n);
    if (raw.length === 0) return { family: "unix", path: "" };
    if (raw[0] === 0) return { family: "unix", path: "@" + dec.decode(raw.subarray(1)) };
    const end = raw.indexOf(0);
    return { family: "unix", path: dec.decode(end === -1 ? raw : raw.subarray(0, end)) };
  }
  return null;
}

function ntop(af: number, bytes: Uint8Array): string {
  const lib = requireLibc("socketInfo");
  const out = new Uint8Array(64);
  if (lib.inet_ntop(af, bytes, out, out.length) === null) return "?";
  const end = out.indexOf(0);
  return dec.decode(out.subarray(0, end === -1 ? out.length : end));
}

/**
 * The {@link BindAddress} of a socket described by {@link socketInfo}, e.g. to log it with
 * `formatBind` (`http://127.0.0.1:8000`, `http://[::1]:8000`, `unix:/run/app.sock`).
 */
export function socketInfoToBind(info: SocketInfo): BindAddress {
  switch (info.family) {
    case "tcp4":
      return { kind: "tcp", host: info.host, port: info.port, family: 4 };
    case "tcp6":
      return { kind: "tcp", host: info.host, port: info.port, family: 6 };
    case "unix":
      return { kind: "unix", path: info.path };
  }
}

/**
 * Take over an inherited listening socket (`fd://N`, systemd `LISTEN_FDS`, a re-exec parent):
 * check that it is one, then make it non-blocking and close-on-exec. It is not re-`listen()`ed
 * (Gunicorn #3747).
 *
 * @throws `Error` naming the fd when it is not open or not a listening stream socket.
 */
export function adoptListenSocket(fd: number): SocketInfo {
  const info = socketInfo(fd);
  if (info === null) {
    const lib = requireLibc("adoptListenSocket");
    const open = Number.isInteger(fd) && fd >= 0 && lib.fcntl(fd, C.F_GETFD, 0) >= 0;
    throw new Error(open ? `fd://${fd} is not a listening stream socket` : `fd://${fd} is not an open file descriptor`);
  }
  setNonBlocking(fd, true);
  setCloexec(fd, true);
  return info;
}

/**
 * Set or clear `FD_CLOEXEC` on an fd. Bun.spawn passes an fd named in `stdio` whatever this
 * flag says; the flag only matters for other ways of starting programs.
 *
 * @returns `false` on non-Linux platforms (nothing done), else `true`.
 * @throws `SyscallError` (e.g. `EBADF`).
 */
export function setCloexec(fd: number, on: boolean): boolean {
  return setFcntlFlag(fd, "FD", C.FD_CLOEXEC, on);
}

/**
 * Set or clear `O_NONBLOCK` on an fd (shared by every process holding the socket).
 *
 * @returns `false` on non-Linux platforms (nothing done), else `true`.
 */
export function setNonBlocking(fd: number, on: boolean): boolean {
  return setFcntlFlag(fd, "FL", C.O_NONBLOCK, on);
}

/** Sets or clears `bit` in the fd's descriptor (`FD`) or status (`FL`) flags, writing only on a change. */
function setFcntlFlag(fd: number, which: "FD" | "FL", bit: number, on: boolean): boolean {
  const lib = libc();
  if (lib === null) return false;
  const [get, set] = which === "FD" ? [C.F_GETFD, C.F_SETFD] : [C.F_GETFL, C.F_SETFL];
  const flags = check(lib.fcntl(fd, get, 0), `fcntl(F_GET${which})`, `fd ${fd}`);
  const next = on ? flags | bit : flags & ~bit;
  if (next !== flags) check(lib.fcntl(fd, set, next), `fcntl(F_SET${which})`, `fd ${fd}`);
  return true;
}
