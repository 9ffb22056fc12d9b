/**
 * @module
 * Inherited listening sockets across the arbiter's titled re-exec (src/run.ts).
 *
 * Bun marks every descriptor above 3 close-on-exec as it starts (measured on 1.4.4:
 * `close_range(4, ~0U, CLOSE_RANGE_CLOEXEC)` before any JavaScript runs; fd 3 is left alone).
 * The `bunicorn` command then replaces itself with `execve` for its process title, and every
 * inherited socket from fd 4 on was gone in the new image: a USR2 child of an arbiter with two
 * shared sockets (`BUNICORN_FD=3,4`) failed with `fd://4 is not a listening stream socket`, and
 * so did systemd socket activation with two sockets. {@link keepInheritedFds} clears the flag on
 * the descriptors the environment names, just before that exec.
 */
import { INHERITED_FDS_ENV, LISTEN_FDS_ENV, LISTEN_PID_ENV } from "../env-names.ts";
import { SD_LISTEN_FDS_START } from "./systemd.ts";
import { setCloexec } from "./listen-socket.ts";

/** The descriptors `env` hands this process: `BUNICORN_FD`'s list, systemd's `LISTEN_FDS` (when `LISTEN_PID` is this process). */
export function inheritedFds(env: Record<string, string | undefined>, pid: number = process.pid): number[] {
  const fds = (env[INHERITED_FDS_ENV] ?? "")
    .split(",")
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
  const n = Number(env[LISTEN_FDS_ENV] ?? "");
  if (Number.isInteger(n) && n > 0 && Number(env[LISTEN_PID_ENV]) === pid) {
    for (let i = 0; i < n; i++) fds.push(SD_LISTEN_FDS_START + i);
  }
  return fds;
}

/** Clears close-on-exec on the inherited descriptors, so that they survive an `execve`; an fd that is not open is skipped. */
export function keepInheritedFds(env: Record<string, string | undefined>): void {
  for (const fd of inheritedFds(env)) {
    try {
      setCloexec(fd, false);
    } catch {
      /* not open: adopting it will say so */
    }
  }
}
