/**
 * @module
 * The few glibc functions bunicorn calls through `bun:ffi`, loaded lazily.
 *
 * Only Linux is supported (the constants below are the Linux x86_64/aarch64 values).
 * On any other platform, or when `libc.so.6` cannot be opened, {@link libc} returns
 * `null` so callers can fail soft; {@link requireLibc} throws a clear error instead.
 *
 * Other folders import it through `src/os/index.ts` (src/net builds its sockets with it; tests
 * build raw sockets, e.g. a datagram receiver for sd_notify).
 */
import type { FFIFunction, FFIType, Library, Pointer } from "bun:ffi";
import { constants as osConstants } from "node:os";

/**
 * `bun:ffi`, loaded on first use: importing it costs about 2 MB of RSS per process and the
 * first `dlopen` (which compiles the wrappers with TinyCC) about 1.5 MB more, so a process
 * that never makes a libc call (a worker in reuse-port mode) never pays for it.
 */
export function ffi(): typeof import("bun:ffi") {
  return require("bun:ffi");
}

/** `FFIType.i64_fast` (the enum is not imported, so that `bun:ffi` loads lazily). */
const I64_FAST = 15 as FFIType.i64_fast;

const symbols = {
  __errno_location: { args: [], returns: "ptr" },
  strerror: { args: ["i32"], returns: "cstring" },
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  accept4: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: I64_FAST },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: I64_FAST },
  close: { args: ["i32"], returns: "i32" },
  dup2: { args: ["i32", "i32"], returns: "i32" },
  // fcntl and prctl are variadic; on x86_64 and aarch64 Linux, integer-only variadic
  // arguments are passed exactly like fixed ones, so a fixed-arity binding is safe.
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  inet_pton: { args: ["i32", "cstring", "ptr"], returns: "i32" },
  inet_ntop: { args: ["i32", "ptr", "ptr", "u32"], returns: "ptr" },
  if_nametoindex: { args: ["cstring"], returns: "u32" },
  wait4: { args: ["i32", "ptr", "i32", "ptr"], returns: "i32" },
  execve: { args: ["cstring", "ptr", "ptr"], returns: "i32" },
  clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
} as const satisfies Record<string, FFIFunction>;

type Bound = Library<typeof symbols>["symbols"];

let cached: Bound | null | undefined;
let loadError: string | undefined;

/** The bound libc symbols, or `null` on non-Linux platforms or when loading fails. */
export function libc(): Bound | null {
  if (cached !== undefined) return cached;
  if (process.platform !== "linux") {
    loadError = `not supported on ${process.platform} (Linux only)`;
    cached = null;
    return cached;
  }
  try {
    cached = ffi().dlopen("libc.so.6", symbols).symbols;
  } catch (err) {
    loadError = `cannot load libc.so.6 through bun:ffi: ${(err as Error).message}`;
    cached = null;
  }
  return cached;
}

/** Like {@link libc} but throws `Error("<what>: not supported on darwin (Linux only)")`. */
export function requireLibc(what: string): Bound {
  const lib = libc();
  if (lib === null) throw new Error(`${what}: ${loadError ?? "libc unavailable"}`);
  return lib;
}

/** The calling thread's current `errno`. Read it right after the failing call. */
export function errno(): number {
  const lib = libc();
  if (lib === null) return 0;
  const p = lib.__errno_location();
  return p === null ? 0 : ffi().read.i32(p as Pointer, 0);
}

let errnoNames: Map<number, string> | undefined;

/** `98` → `"EADDRINUSE"`; unknown numbers give `"E<n>"`. */
export function errnoName(n: number): string {
  if (errnoNames === undefined) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(osConstants.errno)) {
      // Some numbers have two names (EAGAIN/EWOULDBLOCK, EDEADLK/EDEADLOCK): keep the first.
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(n) ?? `E${n}`;
}

/** The number of an errno name (`"EADDRINUSE"` → 98), or `undefined`. */
export function errnoNumber(name: string): number | undefined {
  return (osConstants.errno as Record<string, number>)[name];
}

/** libc's text for an errno (`98` → `"Address already in use"`). */
function strerror(n: number): string {
  const lib = libc();
  const text = lib === null ? null : lib.strerror(n);
  return typeof text === "string" && text !== "" ? text : errnoName(n);
}

/**
 * A failed system call: `code` is the errno name (`"EADDRINUSE"`), `errno` its number.
 * The message reads like Python's OSError plus what was being done, e.g.
 * `bind 127.0.0.1:8000: [Errno 98] Address already in use (EADDRINUSE)`.
 */
export class SyscallError extends Error {
  /** errno name, e.g. `"EADDRINUSE"`. */
  readonly code: string;
  /** errno number, e.g. `98`. */
  readonly errno: number;
  /** The call that failed, e.g. `"bind"`. */
  readonly syscall: string;
  /** What the call was about (an address, a path, an fd), if any. */
  readonly target: string | undefined;

  constructor(syscall: string, errnoValue: number, target?: string) {
    const code = errnoName(errnoValue);
    const where = target === undefined ? syscall : `${syscall} ${target}`;
    super(`${where}: [Errno ${errnoValue}] ${strerror(errnoValue)} (${code})`);
    this.name = "SyscallError";
    this.code = code;
    this.errno = errnoValue;
    this.syscall = syscall;
    this.target = target;
  }
}

/** Throw a {@link SyscallError} built from the current errno when `ret < 0`; else return `ret`. */
export function check(ret: number, syscall: string, target?: string): number {
  if (ret < 0) throw new SyscallError(syscall, errno(), target);
  return ret;
}

/** Linux constants used by bunicorn (x86_64 and aarch64 share these values). */
export const C = {
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_TYPE: 3,
  SO_REUSEPORT: 15,
  SO_ACCEPTCONN: 30,
  SO_DOMAIN: 39,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  TCP_DEFER_ACCEPT: 9,
  IPPROTO_IPV6: 41,
  IPV6_V6ONLY: 26,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  FD_CLOEXEC: 1,
  O_NONBLOCK: 0o4000,
  PR_SET_PDEATHSIG: 1,
  PR_GET_PDEATHSIG: 2,
  PR_SET_NAME: 15,
  PR_SET_CHILD_SUBREAPER: 36,
  PR_GET_CHILD_SUBREAPER: 37,
  WNOHANG: 1,
  /** `sizeof(struct sockaddr_un)`; `sun_path` is 108 bytes at offset 2. */
  SOCKADDR_UN_SIZE: 110,
  SUN_PATH_MAX: 108,
} as const;
