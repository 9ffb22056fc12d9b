/**
 * @module
 * The arbiter's name in `ps`. Bun cannot rewrite a running process's `argv` (`process.title`
 * changes nothing `ps` shows), so the `bunicorn` command re-executes itself once, in place (same
 * pid, so pidfiles, systemd's `LISTEN_PID` and inherited sockets stay valid), with `argv[0]` set
 * to `bunicorn: master [NAME]` — the way workers get their name through `Bun.spawn`'s `argv0`.
 */
import { TITLED_ENV } from "../env-names.ts";
import { errno, ffi, libc, SyscallError } from "./libc.ts";

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}

/**
 * Replaces this process image with `execPath argv...` and `argv[0] = title`. Returns only when
 * `execve` fails (the caller then carries on untitled). Linux only; a no-op elsewhere.
 */
export function execWithTitle(title: string, execPath: string, args: readonly string[], env: Record<string, string | undefined>): SyscallError | null {
  const lib = libc();
  if (lib === null) return null;
  const { ptr } = ffi();
  const argv = [title, ...args].map(cstr);
  const envp = Object.entries({ ...env, [TITLED_ENV]: "1" })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => cstr(`${k}=${v}`));
  const table = (bufs: Buffer[]) => {
    const t = new BigUint64Array(bufs.length + 1);
    bufs.forEach((b, i) => {
      t[i] = BigInt(ptr(b));
    });
    return t;
  };
  const argvTable = table(argv);
  const envTable = table(envp);
  lib.execve(cstr(execPath), ptr(argvTable), ptr(envTable));
  // Still here: execve failed. Keep the buffers alive until now.
  void argv;
  void envp;
  return new SyscallError("execve", errno(), execPath);
}
