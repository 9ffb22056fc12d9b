/**
 * @module
 * @internal A unix datagram receiver made through FFI (node:dgram has no unix sockets in Bun),
 * shared by tests of sd_notify, syslog `unix://PATH#dgram` and statsd `unix://PATH`.
 */
import { unixSockAddr } from "../../src/net/listen-socket.ts";
import { C, check, errno, libc, SyscallError } from "../../src/os/index.ts";

export function unixDatagramReceiver(path: string): { recv(ms: number): Promise<string>; close(): void } {
  const lib = libc()!;
  const fd = check(lib.socket(C.AF_UNIX, C.SOCK_DGRAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), "socket");
  const sa = unixSockAddr(path);
  check(lib.bind(fd, sa.buf, sa.len), "bind", path);
  return {
    async recv(ms: number): Promise<string> {
      const buf = new Uint8Array(65536);
      const deadline = performance.now() + ms;
      for (;;) {
        const n = Number(lib.recv(fd, buf, buf.length, C.MSG_DONTWAIT));
        if (n >= 0) return new TextDecoder().decode(buf.subarray(0, n));
        if (errno() !== 11) throw new SyscallError("recv", errno(), path);
        if (performance.now() > deadline) throw new Error(`no datagram on ${path} within ${ms} ms`);
        await Bun.sleep(5);
      }
    },
    close() {
      lib.close(fd);
    },
  };
}
