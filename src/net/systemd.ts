/**
 * systemd integration: socket activation (`LISTEN_FDS`) and `sd_notify`, as in Gunicorn's
 * `gunicorn/systemd.py`.
 */
import { C, check, errno, libc, SyscallError } from "../os/index.ts";
import { LISTEN_FDNAMES_ENV, LISTEN_FDS_ENV, LISTEN_PID_ENV, NOTIFY_SOCKET_ENV } from "../env-names.ts";
import { setCloexec, unixSockAddr } from "./listen-socket.ts";

/** The first fd systemd passes (`SD_LISTEN_FDS_START`). */
export const SD_LISTEN_FDS_START = 3;

/**
 * The sockets systemd passed to this process: `[3, 4, ... 3+LISTEN_FDS-1]`.
 *
 * Only when `LISTEN_PID` equals `pid` (the variables were meant for this process, not
 * inherited from a parent) and `LISTEN_FDS` is a positive integer. In that case, like
 * Gunicorn, `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` are removed from `env` so that
 * workers do not see them, and each fd is marked close-on-exec (as `sd_listen_fds` does;
 * Bun.spawn still passes an fd named in `stdio`).
 *
 * @param env the environment to read and clean up (default `process.env`).
 * @param pid this process's pid (default `process.pid`).
 * @returns the fds, or `[]` when there are none for this process.
 * @example
 * ```ts
 * for (const fd of listenFds()) adoptListenSocket(fd);
 * ```
 */
export function listenFds(env: Record<string, string | undefined> = process.env, pid: number = process.pid): number[] {
  const fdsText = env[LISTEN_FDS_ENV];
  const pidText = env[LISTEN_PID_ENV];
  if (fdsText === undefined || pidText === undefined) return [];
  if (!/^\d+$/.test(pidText.trim()) || Number(pidText) !== pid) return [];
  delete env[LISTEN_PID_ENV];
  delete env[LISTEN_FDS_ENV];
  delete env[LISTEN_FDNAMES_ENV];
  if (!/^\d+$/.test(fdsText.trim())) return [];
  const n = Number(fdsText);
  const fds: number[] = [];
  for (let i = 0; i < n; i++) {
    const fd = SD_LISTEN_FDS_START + i;
    try {
      setCloexec(fd, true);
    } catch {
      // an fd systemd promised but that is not open: leave it to the adopter to report
    }
    fds.push(fd);
  }
  return fds;
}

const enc = new TextEncoder();

/** `CLOCK_MONOTONIC` (Linux). */
const CLOCK_MONOTONIC = 1;

/**
 * `CLOCK_MONOTONIC` in microseconds, for `MONOTONIC_USEC=` (systemd 253+ requires it with
 * `RELOADING=1`). Neither `performance.now()` nor Bun's `process.hrtime()` is that clock (both
 * count from the process's start), so it is read through libc. Null off Linux.
 */
export function monotonicUsec(): bigint | null {
  const lib = libc();
  if (lib === null) return null;
  const ts = new BigInt64Array(2);
  if (lib.clock_gettime(CLOCK_MONOTONIC, ts) !== 0) return null;
  return ts[0]! * 1_000_000n + ts[1]! / 1000n;
}

/**
 * Send a state string to the service manager (`sd_notify(3)`), e.g. `"READY=1"`,
 * `"STATUS=Gunicorn arbiter booted"`, `"STOPPING=1"`, `"MAINPID=1234"`, `"WATCHDOG=1"`.
 *
 * The datagram goes to the unix socket named by `$NOTIFY_SOCKET` (a leading `@` means the
 * abstract namespace). Bun's `node:dgram` has no unix datagram sockets, so this uses
 * `socket(AF_UNIX, SOCK_DGRAM)` + `sendto` through `bun:ffi`.
 *
 * @param state newline-separated `KEY=value` assignments.
 * @param env where to read `NOTIFY_SOCKET` (default `process.env`).
 * @returns `false` when `NOTIFY_SOCKET` is unset or empty, or on non-Linux platforms
 *   (nothing sent); `true` once the datagram is sent.
 * @throws `SyscallError` when sending fails (no such socket, permission denied...). Gunicorn
 *   logs and ignores such errors; do the same in the caller.
 */
export function sdNotify(state: string, env: Record<string, string | undefined> = process.env): boolean {
  const target = env[NOTIFY_SOCKET_ENV];
  if (target === undefined || target === "") return false;
  const lib = libc();
  if (lib === null) return false;
  if (!target.startsWith("/") && !target.startsWith("@")) {
    throw new Error(`sd_notify: unsupported ${NOTIFY_SOCKET_ENV} ${JSON.stringify(target)} (expected an absolute path or @abstract name)`);
  }
  const sa = unixSockAddr(target);
  const fd = check(lib.socket(C.AF_UNIX, C.SOCK_DGRAM | C.SOCK_CLOEXEC, 0), "socket", target);
  try {
    const data = enc.encode(state);
    const n = Number(lib.sendto(fd, data, data.length, C.MSG_NOSIGNAL, sa.buf, sa.len));
    if (n < 0) throw new SyscallError("sendto", errno(), target);
    return true;
  } finally {
    lib.close(fd);
  }
}
