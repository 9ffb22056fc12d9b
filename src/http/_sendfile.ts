/**
 * Internal: `sendfile(2)` through `bun:ffi`, and the few file calls around it, for the HTTP
 * engine's file responses.
 *
 * Everything loads on the first file response: `bun:ffi` and its `dlopen` (which compiles call
 * wrappers) and `node:fs` cost resident memory that a worker that never serves a file should not
 * pay (see docs/design.md, "Memory"). Its own two-symbol `dlopen` rather than `src/os/libc.ts`'s:
 * that one compiles a wrapper for each of its ~20 functions, which a shared-socket worker
 * otherwise never loads. Linux only; elsewhere, or if libc cannot be opened,
 * {@link sendfileAvailable} is false and files are read through user space.
 *
 * Not part of the public API.
 * @module
 */
import type { FFIType, Pointer } from "bun:ffi";
import { ffi } from "../os/index.ts";

type SendfileLib = {
  sendfile: (out: number, inFd: number, offset: BigInt64Array, count: number) => number;
  errnoPtr: () => Pointer | null;
  readI32: (p: Pointer, offset: number) => number;
};

let lib: SendfileLib | null | undefined;

function load(): SendfileLib | null {
  if (lib !== undefined) return lib;
  lib = null;
  if (process.platform !== "linux") return lib;
  try {
    const f = ffi();
    const s = f.dlopen("libc.so.6", {
      sendfile: { args: ["i32", "i32", "ptr", "u64"], returns: f.FFIType.i64_fast as FFIType.i64_fast },
      __errno_location: { args: [], returns: "ptr" },
    }).symbols;
    lib = {
      sendfile: s.sendfile as unknown as SendfileLib["sendfile"],
      errnoPtr: s.__errno_location as unknown as SendfileLib["errnoPtr"],
      readI32: f.read.i32,
    };
  } catch {
    lib = null;
  }
  return lib;
}

/** Whether `sendfile(2)` can be called here (loads it on first call). */
export function sendfileAvailable(): boolean {
  return load() !== null;
}

/** `node:fs`, on first use. */
export function nodeFs(): typeof import("node:fs") {
  return require("node:fs");
}

const EAGAIN = 11;
const EINTR = 4;
const offsetBox = new BigInt64Array(1);

/**
 * Sends up to `count` bytes of `fileFd` from `offset` to the non-blocking socket `sockFd`.
 * Returns the bytes sent (0 when the socket takes nothing now, or the file ended: the caller
 * tells which by reading), or a negative errno for a real error (the connection is gone).
 * Call only after {@link sendfileAvailable} returned true.
 */
export function sendfile(sockFd: number, fileFd: number, offset: number, count: number): number {
  const l = lib!;
  for (;;) {
    offsetBox[0] = BigInt(offset);
    const n = l.sendfile(sockFd, fileFd, offsetBox, count);
    if (n >= 0) return n;
    const p = l.errnoPtr();
    const e = p === null ? 0 : l.readI32(p, 0);
    if (e === EINTR) continue;
    if (e === EAGAIN) return 0;
    return -(e || 1);
  }
}
