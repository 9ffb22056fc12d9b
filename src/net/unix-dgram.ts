/**
 * @module
 * A non-blocking unix datagram sender (bun:ffi `socket(AF_UNIX, SOCK_DGRAM)` + `sendto`), for
 * syslog on `unix://PATH#dgram` (usually /dev/log) and statsd on `unix://PATH`: Bun's
 * `node:dgram` has no unix datagram sockets. A full receiver drops the datagram (EAGAIN) rather
 * than blocking the event loop.
 */
import { C, check, errno, libc, SyscallError } from "../os/index.ts";
import { unixSockAddr } from "./listen-socket.ts";

export class UnixDatagramSender {
  private fd: number;
  private readonly addr: ReturnType<typeof unixSockAddr>;

  constructor(readonly path: string) {
    const lib = libc();
    if (lib === null) throw new Error("unix datagram sockets need Linux");
    this.addr = unixSockAddr(path);
    this.fd = check(lib.socket(C.AF_UNIX, C.SOCK_DGRAM | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK, 0), "socket", path);
  }

  /** Sends one datagram; returns false when it was dropped (receiver full or absent). */
  send(data: Uint8Array): boolean {
    const lib = libc()!;
    if (this.fd < 0) return false;
    const n = Number(lib.sendto(this.fd, data, data.length, C.MSG_NOSIGNAL, this.addr.buf, this.addr.len));
    if (n >= 0) return true;
    const e = new SyscallError("sendto", errno(), this.path);
    if (e.code === "EAGAIN" || e.code === "EWOULDBLOCK" || e.code === "ECONNREFUSED" || e.code === "ENOENT") return false;
    throw e;
  }

  close(): void {
    if (this.fd >= 0) libc()!.close(this.fd);
    this.fd = -1;
  }
}
