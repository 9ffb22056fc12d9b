/**
 * @module
 * @internal A fake systemd `NOTIFY_SOCKET`: a unix datagram socket that records every sd_notify
 * message with the pid that sent it (`SO_PASSCRED`: the kernel attaches the sender's
 * credentials, as systemd reads them to apply `NotifyAccess=`). Collects in the background
 * until closed; every wait is bounded.
 */
import { unixSockAddr } from "../../src/net/listen-socket.ts";
import { C, check, errno, ffi, SyscallError } from "../../src/os/index.ts";
import { waitFor } from "./harness.ts";

const SO_PASSCRED = 16;
const SCM_CREDENTIALS = 2;
const EAGAIN = 11;

let lib: ReturnType<typeof load> | undefined;
function load() {
  return ffi().dlopen("libc.so.6", {
    socket: { args: ["i32", "i32", "i32"], returns: "i32" },
    bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
    setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    recvmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
    close: { args: ["i32"], returns: "i32" },
  }).symbols;
}

export interface NotifyMessage {
  text: string;
  /** The sender's pid, from the kernel. */
  pid: number;
  /** `performance.now()` when it was read. */
  at: number;
}

export interface NotifyReceiver {
  path: string;
  readonly messages: NotifyMessage[];
  /** The messages other than `WATCHDOG=1` pings. */
  states(): NotifyMessage[];
  /** Waits for a message after index `from` (of `messages`) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<NotifyMessage>;
  close(): void;
}

export function notifyReceiver(path: string): NotifyReceiver {
  lib ??= load();
  const { ptr } = ffi();
  const fd = check(lib.socket(C.AF_UNIX, C.SOCK_DGRAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), "socket");
  const sa = unixSockAddr(path);
  check(lib.bind(fd, sa.buf, sa.len), "bind", path);
  check(lib.setsockopt(fd, C.SOL_SOCKET, SO_PASSCRED, new Int32Array([1]), 4), "setsockopt", "SO_PASSCRED");
  // struct msghdr (x86_64/aarch64): name, namelen, iov, iovlen, control, controllen, flags.
  const data = new Uint8Array(65536);
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const control = new Uint8Array(64);
  const msg = new DataView(new ArrayBuffer(56));
  const messages: NotifyMessage[] = [];
  let open = true;
  const readAll = () => {
    for (;;) {
      msg.setBigUint64(0, 0n, true);
      msg.setUint32(8, 0, true);
      msg.setBigUint64(16, BigInt(ptr(iov)), true);
      msg.setBigUint64(24, 1n, true);
      msg.setBigUint64(32, BigInt(ptr(control)), true);
      msg.setBigUint64(40, BigInt(control.length), true);
      msg.setUint32(48, 0, true);
      const n = Number(lib!.recvmsg(fd, ptr(msg.buffer), 0));
      if (n < 0) {
        if (errno() === EAGAIN) return;
        throw new SyscallError("recvmsg", errno(), path);
      }
      // struct cmsghdr: len (8), level (4), type (4), then struct ucred { pid, uid, gid }.
      const cm = new DataView(control.buffer);
      const pid = cm.getInt32(8, true) === C.SOL_SOCKET && cm.getInt32(12, true) === SCM_CREDENTIALS ? cm.getInt32(16, true) : -1;
      messages.push({ text: new TextDecoder().decode(data.subarray(0, n)), pid, at: performance.now() });
    }
  };
  const timer = setInterval(() => open && readAll(), 5);
  return {
    path,
    messages,
    states: () => messages.filter((m) => m.text !== "WATCHDOG=1"),
    async waitFor(pattern, timeoutMs = 10_000, from = 0) {
      return waitFor(`an sd_notify message ${pattern}`, () => messages.slice(from).find((m) => pattern.test(m.text)), timeoutMs, 10).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- received ---\n${messages.map((m) => JSON.stringify(m.text)).join("\n")}`);
      });
    },
    close() {
      if (!open) return;
      readAll();
      open = false;
      clearInterval(timer);
      lib!.close(fd);
    },
  };
}
