import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd, listenFds, openListenSocket, parseBind, sdNotify, socketInfo, SyscallError } from "../../src/net/index.ts";
import { unixSockAddr } from "../../src/net/listen-socket.ts";
import { C, check, errno, libc } from "../../src/os/index.ts";
import { unixDatagramReceiver as receiver } from "../support/unix-dgram-receiver.ts";
import { BUN, firstLine, within } from "../support/spawn-helpers.ts";

const lib = libc()!;
const dir = mkdtempSync(join(tmpdir(), "bunicorn-sd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("listenFds", () => {
  test("nothing when the variables are absent", () => {
    expect(listenFds({}, 1234)).toEqual([]);
    expect(listenFds({ LISTEN_FDS: "2" }, 1234)).toEqual([]);
  });

  test("nothing, and the variables are kept, when LISTEN_PID is another process's", () => {
    const env: Record<string, string | undefined> = { LISTEN_PID: "999", LISTEN_FDS: "2", LISTEN_FDNAMES: "a:b" };
    expect(listenFds(env, 1234)).toEqual([]);
    expect(env).toEqual({ LISTEN_PID: "999", LISTEN_FDS: "2", LISTEN_FDNAMES: "a:b" });
  });

  test("for this pid, the variables are removed even when LISTEN_FDS is 0 or garbage", () => {
    const zero: Record<string, string | undefined> = { LISTEN_PID: "1234", LISTEN_FDS: "0", OTHER: "x" };
    expect(listenFds(zero, 1234)).toEqual([]);
    expect(zero).toEqual({ OTHER: "x" });
    const junk: Record<string, string | undefined> = { LISTEN_PID: "1234", LISTEN_FDS: "two" };
    expect(listenFds(junk, 1234)).toEqual([]);
    expect(junk).toEqual({});
  });

  test("a process started the systemd way gets [3, 4], adopts them, and the env is cleaned", async () => {
    const tcp = openListenSocket(parseBind("127.0.0.1:0"));
    const path = join(dir, "activated.sock");
    const unix = openListenSocket(parseBind(`unix:${path}`));
    try {
      const child = Bun.spawn(
        ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=web:sock exec "$0" "$1"', BUN, join(import.meta.dir, "fixtures", "systemd-child.ts")],
        { stdio: ["ignore", "pipe", "inherit", tcp, unix] },
      );
      const report = JSON.parse(await firstLine(child, 10_000));
      expect(await within(child.exited, 5000, "child exit")).toBe(0);
      expect(report.pid).toBe(child.pid);
      expect(report.fds).toEqual([3, 4]);
      expect(report.infos).toEqual([socketInfo(tcp), { family: "unix", path }]);
      expect(report.cloexec).toEqual([true, true]);
      expect(report.env).toEqual({ LISTEN_PID: null, LISTEN_FDS: null, LISTEN_FDNAMES: null });
      expect(report.again).toEqual([]);
    } finally {
      closeFd(tcp);
      closeFd(unix);
    }
  });
});

describe("sdNotify", () => {
  test("a no-op returning false when NOTIFY_SOCKET is unset or empty", () => {
    expect(sdNotify("READY=1", {})).toBe(false);
    expect(sdNotify("READY=1", { NOTIFY_SOCKET: "" })).toBe(false);
  });

  test("delivers the state to a socket path", async () => {
    const path = join(dir, "notify.sock");
    const r = receiver(path);
    try {
      expect(sdNotify("READY=1\nSTATUS=Gunicorn arbiter booted", { NOTIFY_SOCKET: path })).toBe(true);
      expect(await r.recv(2000)).toBe("READY=1\nSTATUS=Gunicorn arbiter booted");
      expect(sdNotify("STOPPING=1", { NOTIFY_SOCKET: path })).toBe(true);
      expect(await r.recv(2000)).toBe("STOPPING=1");
    } finally {
      r.close();
    }
  });

  test("delivers to an abstract socket (@name)", async () => {
    const name = `@bunicorn-notify-${process.pid}-${Date.now()}`;
    const r = receiver(name);
    try {
      expect(sdNotify("WATCHDOG=1", { NOTIFY_SOCKET: name })).toBe(true);
      expect(await r.recv(2000)).toBe("WATCHDOG=1");
    } finally {
      r.close();
    }
  });

  test("defaults to process.env.NOTIFY_SOCKET", async () => {
    const path = join(dir, "notify-env.sock");
    const r = receiver(path);
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = path;
    try {
      expect(sdNotify("READY=1")).toBe(true);
      expect(await r.recv(2000)).toBe("READY=1");
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
      r.close();
    }
  });

  test("a missing socket is a SyscallError naming it; a relative path is refused", () => {
    const path = join(dir, "nobody-here.sock");
    let caught: unknown;
    try {
      sdNotify("READY=1", { NOTIFY_SOCKET: path });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyscallError);
    expect((caught as SyscallError).code).toBe("ENOENT");
    expect((caught as Error).message).toContain(path);
    expect(() => sdNotify("READY=1", { NOTIFY_SOCKET: "relative.sock" })).toThrow(/unsupported NOTIFY_SOCKET/);
  });
});
