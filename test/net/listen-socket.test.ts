import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  adoptListenSocket,
  closeFd,
  formatBind,
  openListenSocket,
  parseBind,
  setCloexec,
  setNonBlocking,
  socketInfo,
  socketInfoToBind,
  SyscallError,
  type SocketInfo,
} from "../../src/net/index.ts";
import { C, errno, libc } from "../../src/os/index.ts";
import { BUN, firstLine, within } from "../support/spawn-helpers.ts";

const lib = libc()!;
const dir = mkdtempSync(join(tmpdir(), "bunicorn-net-"));
const opened: number[] = [];
const procs: Subprocess[] = [];

function track(fd: number): number {
  opened.push(fd);
  return fd;
}

afterEach(() => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
  for (const fd of opened.splice(0)) {
    try {
      closeFd(fd);
    } catch {
      // already closed by the test
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tcpPort(info: SocketInfo | null): number {
  if (info === null || info.family === "unix") throw new Error(`not a TCP socket: ${JSON.stringify(info)}`);
  return info.port;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an exception");
}

function fcntl(fd: number, cmd: number): number {
  return lib.fcntl(fd, cmd, 0);
}

function intOpt(fd: number, level: number, name: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  expect(lib.getsockopt(fd, level, name, v, len)).toBe(0);
  return v[0]!;
}

/** Accept one pending connection with a raw accept4, waiting up to `ms`. */
async function acceptOne(fd: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  for (;;) {
    const c = lib.accept4(fd, null, null, C.SOCK_CLOEXEC);
    if (c >= 0) return c;
    if (performance.now() > deadline) throw new Error(`no connection to accept within ${ms} ms (errno ${errno()})`);
    await Bun.sleep(10);
  }
}

describe("openListenSocket: TCP", () => {
  test("IPv4 on port 0: listening, non-blocking, close-on-exec, readable back with socketInfo", () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0")));
    const info = socketInfo(fd);
    expect(info).toMatchObject({ family: "tcp4", host: "127.0.0.1" });
    expect(tcpPort(info)).toBeGreaterThan(0);
    expect(fcntl(fd, C.F_GETFL) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
    expect(fcntl(fd, C.F_GETFD) & C.FD_CLOEXEC).toBe(C.FD_CLOEXEC);
    expect(intOpt(fd, C.SOL_SOCKET, C.SO_REUSEADDR)).toBe(1);
    expect(intOpt(fd, C.SOL_SOCKET, C.SO_REUSEPORT)).toBe(0);
    expect(formatBind(socketInfoToBind(info!))).toBe(`http://127.0.0.1:${tcpPort(info)}`);
  });

  test("the parent does not accept: a connection stays queued until a raw accept takes it", async () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0")));
    const port = tcpPort(socketInfo(fd));
    const client = await within(
      Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }),
      5000,
      "connect",
    );
    client.write("x"); // TCP_DEFER_ACCEPT: the kernel queues it for accept() once data arrived
    await Bun.sleep(100); // give Bun's event loop every chance to accept it, if it polled the fd
    const conn = await acceptOne(fd, 2000);
    expect(intOpt(conn, C.IPPROTO_TCP, C.TCP_NODELAY)).toBe(1); // inherited from the listener
    lib.close(conn);
    client.end();
  });

  test("noDelay: false leaves TCP_NODELAY off on accepted connections", async () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0"), { noDelay: false }));
    const client = await within(
      Bun.connect({ hostname: "127.0.0.1", port: tcpPort(socketInfo(fd)), socket: { data() {} } }),
      5000,
      "connect",
    );
    client.write("x");
    const conn = await acceptOne(fd, 2000);
    expect(intOpt(conn, C.IPPROTO_TCP, C.TCP_NODELAY)).toBe(0);
    lib.close(conn);
    client.end();
  });

  test("TCP_DEFER_ACCEPT: a connection reaches accept() with its first bytes, not before; deferAccept: false turns it off", async () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0")));
    expect(intOpt(fd, C.IPPROTO_TCP, C.TCP_DEFER_ACCEPT)).toBeGreaterThan(0);
    const client = await within(Bun.connect({ hostname: "127.0.0.1", port: tcpPort(socketInfo(fd)), socket: { data() {} } }), 5000, "connect");
    await Bun.sleep(200);
    expect(lib.accept4(fd, null, null, C.SOCK_CLOEXEC)).toBe(-1); // connected, silent: not yet
    client.write("GET / HTTP/1.1\r\n\r\n");
    const conn = await acceptOne(fd, 2000);
    lib.close(conn);
    client.end();

    const plain = track(openListenSocket(parseBind("127.0.0.1:0"), { deferAccept: false }));
    expect(intOpt(plain, C.IPPROTO_TCP, C.TCP_DEFER_ACCEPT)).toBe(0);
    const silent = await within(Bun.connect({ hostname: "127.0.0.1", port: tcpPort(socketInfo(plain)), socket: { data() {} } }), 5000, "connect");
    lib.close(await acceptOne(plain, 2000));
    silent.end();
  });

  test("EADDRINUSE: the error names the errno and the address", () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0")));
    const port = tcpPort(socketInfo(fd));
    const err = thrown(() => openListenSocket(parseBind(`127.0.0.1:${port}`)));
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).code).toBe("EADDRINUSE");
    expect((err as SyscallError).errno).toBe(98);
    expect((err as SyscallError).syscall).toBe("bind");
    expect(err.message).toBe(`bind 127.0.0.1:${port}: [Errno 98] Address already in use (EADDRINUSE)`);
  });

  test("EADDRNOTAVAIL for an address this host does not have", () => {
    const err = thrown(() => openListenSocket(parseBind("192.0.2.1:0")));
    expect((err as SyscallError).code).toBe("EADDRNOTAVAIL");
    expect(err.message).toContain("192.0.2.1:0");
  });

  test("reusePort: two sockets share one port", () => {
    const a = track(openListenSocket(parseBind("127.0.0.1:0"), { reusePort: true }));
    const port = tcpPort(socketInfo(a));
    const b = track(openListenSocket(parseBind(`127.0.0.1:${port}`), { reusePort: true }));
    expect(intOpt(b, C.SOL_SOCKET, C.SO_REUSEPORT)).toBe(1);
    expect(tcpPort(socketInfo(b))).toBe(port);
  });

  test("backlog reaches listen() (ss shows it as Send-Q) and must be positive", async () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0"), { backlog: 77 }));
    const port = tcpPort(socketInfo(fd));
    const ss = Bun.spawnSync(["ss", "-ltnH", `sport = :${port}`]);
    const line = ss.stdout.toString().trim();
    expect(line.split(/\s+/)[2]).toBe("77");
    expect(() => openListenSocket(parseBind("127.0.0.1:0"), { backlog: 0 })).toThrow(RangeError);
  });

  test("a host name is refused until resolved", () => {
    expect(() => openListenSocket(parseBind("localhost:0"))).toThrow(/resolve it first/);
  });

  test("IPv6 ::1 (or a clean error when the host has no IPv6 loopback)", () => {
    let fd: number;
    try {
      fd = track(openListenSocket(parseBind("[::1]:0")));
    } catch (err) {
      expect(err).toBeInstanceOf(SyscallError);
      expect(["EADDRNOTAVAIL", "EAFNOSUPPORT"]).toContain((err as SyscallError).code);
      expect((err as Error).message).toMatch(/^(socket|bind) \[::1\]:0: \[Errno \d+\]/);
      return;
    }
    const info = socketInfo(fd);
    expect(info).toMatchObject({ family: "tcp6", host: "::1", scopeId: 0 });
    expect(formatBind(socketInfoToBind(info!))).toBe(`http://[::1]:${tcpPort(info)}`);
  });

  test("IPv6 [::]: kernel default for V6ONLY unless v6Only is given", () => {
    const bindv6only = Number(readFileSync("/proc/sys/net/ipv6/bindv6only", "utf8").trim());
    const dflt = track(openListenSocket(parseBind("[::]:0")));
    expect(intOpt(dflt, C.IPPROTO_IPV6, C.IPV6_V6ONLY)).toBe(bindv6only);
    const port = tcpPort(socketInfo(dflt));
    if (bindv6only === 0) {
      // dual stack: the IPv4 side of the port is taken too
      expect((thrown(() => openListenSocket(parseBind(`0.0.0.0:${port}`))) as SyscallError).code).toBe("EADDRINUSE");
    }
    const v6 = track(openListenSocket(parseBind("[::]:0"), { v6Only: true }));
    expect(intOpt(v6, C.IPPROTO_IPV6, C.IPV6_V6ONLY)).toBe(1);
    const v4 = track(openListenSocket(parseBind(`0.0.0.0:${tcpPort(socketInfo(v6))}`)));
    expect(socketInfo(v4)).toMatchObject({ family: "tcp4", host: "0.0.0.0" });
  });
});

describe("openListenSocket: unix", () => {
  test("binds, and the file mode follows the umask; the process umask is restored", () => {
    const before = process.umask();
    const p1 = join(dir, "m700.sock");
    const fd1 = track(openListenSocket(parseBind(`unix:${p1}`), { umask: 0o077 }));
    expect(statSync(p1).isSocket()).toBe(true);
    expect(statSync(p1).mode & 0o777).toBe(0o700);
    const p2 = join(dir, "m755.sock");
    track(openListenSocket(parseBind(`unix:${p2}`), { umask: 0o022 }));
    expect(statSync(p2).mode & 0o777).toBe(0o755);
    const p3 = join(dir, "m777.sock");
    track(openListenSocket(parseBind(`unix://${p3}`), { umask: 0 }));
    expect(statSync(p3).mode & 0o777).toBe(0o777);
    expect(process.umask()).toBe(before);
    expect(socketInfo(fd1)).toEqual({ family: "unix", path: p1 });
    expect(formatBind(socketInfoToBind(socketInfo(fd1)!))).toBe(`unix:${p1}`);
  });

  test("a stale socket file (nobody listening) is removed and rebound", () => {
    const p = join(dir, "stale.sock");
    const first = openListenSocket(parseBind(`unix:${p}`));
    closeFd(first); // like a crash: the file stays behind
    expect(statSync(p).isSocket()).toBe(true);
    const second = track(openListenSocket(parseBind(`unix:${p}`)));
    expect(socketInfo(second)).toEqual({ family: "unix", path: p });
  });

  test("removeStale: false leaves a stale file alone, so bind fails with EADDRINUSE", () => {
    const p = join(dir, "stale-kept.sock");
    closeFd(openListenSocket(parseBind(`unix:${p}`)));
    const err = thrown(() => openListenSocket(parseBind(`unix:${p}`), { removeStale: false }));
    expect((err as SyscallError).code).toBe("EADDRINUSE");
    expect(statSync(p).isSocket()).toBe(true);
  });

  test("owner chowns the socket file (gunicorn chowns it to --user/--group)", () => {
    const p = join(dir, "owned.sock");
    if (process.getuid!() === 0) {
      track(openListenSocket(parseBind(`unix:${p}`), { owner: { uid: 65534, gid: 65534 } }));
      expect(statSync(p).uid).toBe(65534);
      expect(statSync(p).gid).toBe(65534);
    } else {
      expect(() => openListenSocket(parseBind(`unix:${p}`), { owner: { uid: 0, gid: 0 } })).toThrow(/EPERM/);
    }
  });

  test("a socket someone still listens on is not stolen: EADDRINUSE", () => {
    const p = join(dir, "live.sock");
    track(openListenSocket(parseBind(`unix:${p}`)));
    const err = thrown(() => openListenSocket(parseBind(`unix:${p}`)));
    expect((err as SyscallError).code).toBe("EADDRINUSE");
    expect(err.message).toContain(p);
    expect(err.message).toContain("another process is listening");
  });

  test("a regular file at the path is refused with a clear error and left alone", () => {
    const p = join(dir, "regular.txt");
    writeFileSync(p, "keep me");
    const err = thrown(() => openListenSocket(parseBind(`unix:${p}`)));
    expect((err as SyscallError).code).toBe("EEXIST");
    expect(err.message).toBe(`bind ${p}: [Errno 17] path exists and is not a socket; refusing to remove it (EEXIST)`);
    expect(readFileSync(p, "utf8")).toBe("keep me");
  });

  test("a path longer than sun_path is refused with ENAMETOOLONG", () => {
    const p = join(dir, "x".repeat(120) + ".sock");
    const err = thrown(() => openListenSocket(parseBind(`unix:${p}`)));
    expect((err as SyscallError).code).toBe("ENAMETOOLONG");
    expect(err.message).toContain("limited to 107 bytes");
  });

  test("a missing directory gives ENOENT with the path", () => {
    const p = join(dir, "no", "such", "dir.sock");
    const err = thrown(() => openListenSocket(parseBind(`unix:${p}`)));
    expect((err as SyscallError).code).toBe("ENOENT");
    expect(err.message).toContain(p);
  });

  test("abstract names (@name) bind without a file", () => {
    const name = `@bunicorn-test-${process.pid}-${Date.now()}`;
    const fd = track(openListenSocket({ kind: "unix", path: name }));
    expect(socketInfo(fd)).toEqual({ family: "unix", path: name });
  });
});

describe("socketInfo / adoptListenSocket / flags", () => {
  test("null for a regular file, a closed fd, a non-listening socket and bad numbers", () => {
    const file = join(dir, "plain");
    writeFileSync(file, "x");
    const ffd = openSync(file, "r");
    try {
      expect(socketInfo(ffd)).toBeNull();
    } finally {
      closeSync(ffd);
    }
    expect(socketInfo(999_999)).toBeNull();
    const raw = lib.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0);
    expect(raw).toBeGreaterThan(2);
    expect(socketInfo(raw)).toBeNull();
    lib.close(raw);
    expect(socketInfo(-1)).toBeNull();
    expect(socketInfo(1.5)).toBeNull();
  });

  test("adopt makes an inherited socket non-blocking and close-on-exec; fd:// goes through it", () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0")));
    setNonBlocking(fd, false);
    setCloexec(fd, false);
    expect(fcntl(fd, C.F_GETFL) & C.O_NONBLOCK).toBe(0);
    expect(fcntl(fd, C.F_GETFD) & C.FD_CLOEXEC).toBe(0);
    expect(openListenSocket({ kind: "fd", fd })).toBe(fd);
    expect(fcntl(fd, C.F_GETFL) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
    expect(fcntl(fd, C.F_GETFD) & C.FD_CLOEXEC).toBe(C.FD_CLOEXEC);
    expect(adoptListenSocket(fd)).toEqual(socketInfo(fd)!);
  });

  test("adopt refuses what is not a listening socket, naming the fd", () => {
    const file = join(dir, "plain2");
    writeFileSync(file, "x");
    const ffd = openSync(file, "r");
    try {
      expect(() => adoptListenSocket(ffd)).toThrow(`fd://${ffd} is not a listening stream socket`);
    } finally {
      closeSync(ffd);
    }
    // a number far above any fd in use (never a just-closed one, which another thread may reuse)
    const unused = 999_999;
    expect(() => adoptListenSocket(unused)).toThrow(`fd://${unused} is not an open file descriptor`);
    expect(() => openListenSocket(parseBind(`fd://${unused}`))).toThrow(/is not an open file descriptor/);
  });

  test("closeFd closes (the port is free again); an fd that is not open is EBADF", () => {
    const fd = openListenSocket(parseBind("127.0.0.1:0"));
    const port = tcpPort(socketInfo(fd));
    closeFd(fd);
    // the port is free again
    track(openListenSocket(parseBind(`127.0.0.1:${port}`)));
    const err = thrown(() => closeFd(999_999));
    expect((err as SyscallError).code).toBe("EBADF");
  });
});

describe("passing the socket to workers", () => {
  const worker = join(import.meta.dir, "fixtures", "fd-worker.ts");

  function spawnWorker(fd: number): Subprocess<"ignore", "pipe", "inherit"> {
    const p = Bun.spawn([BUN, worker], { stdio: ["ignore", "pipe", "inherit", fd] });
    procs.push(p);
    return p;
  }

  async function requests(n: number, fetchOne: () => Promise<string>): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i += 10) {
      const batch = await within(
        Promise.all(Array.from({ length: Math.min(10, n - i) }, fetchOne)),
        10_000,
        "a batch of 10 requests",
      );
      for (const who of batch) counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    return counts;
  }

  test("2 children serve one TCP fd with Bun.listen({fd: 3}); all 40 requests answered, none by the parent", async () => {
    const fd = track(openListenSocket(parseBind("127.0.0.1:0")));
    const port = tcpPort(socketInfo(fd));
    const a = spawnWorker(fd);
    const b = spawnWorker(fd);
    expect(await firstLine(a, 10_000)).toBe(`ready ${a.pid}`);
    expect(await firstLine(b, 10_000)).toBe(`ready ${b.pid}`);

    const fetchOne = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        headers: { connection: "close" },
        signal: AbortSignal.timeout(5000),
      });
      return res.text();
    };
    const counts = await requests(40, fetchOne);
    console.error(`split of 40 requests: ${JSON.stringify(Object.fromEntries(counts))}`);
    const total = [...counts.values()].reduce((x, y) => x + y, 0);
    expect(total).toBe(40);
    // every answer names a child; the parent has no handler, so it answered none
    for (const who of counts.keys()) expect([String(a.pid), String(b.pid)]).toContain(who);
    // the parent's fd is still open and listening: nothing is left in its accept queue
    expect(socketInfo(fd)).toMatchObject({ family: "tcp4", port });
    expect(lib.accept4(fd, null, null, 0)).toBe(-1);
    expect(errno()).toBe(11); // EAGAIN: nothing queued, nothing stolen

    // kill one worker and start a replacement on the same fd: still served, no errors
    a.kill("SIGKILL");
    await within(a.exited, 5000, "worker a exit");
    const c = spawnWorker(fd);
    expect(await firstLine(c, 10_000)).toBe(`ready ${c.pid}`);
    const after = await requests(20, fetchOne);
    expect([...after.values()].reduce((x, y) => x + y, 0)).toBe(20);
    for (const who of after.keys()) expect([String(b.pid), String(c.pid)]).toContain(who);
  });

  test("a unix socket fd is served by a child too", async () => {
    const path = join(dir, "served.sock");
    const fd = track(openListenSocket(parseBind(`unix:${path}`)));
    const w = spawnWorker(fd);
    expect(await firstLine(w, 10_000)).toBe(`ready ${w.pid}`);
    for (let i = 0; i < 5; i++) {
      const res = await fetch("http://localhost/", { unix: path, signal: AbortSignal.timeout(5000) });
      expect(await res.text()).toBe(String(w.pid));
    }
  });
});
