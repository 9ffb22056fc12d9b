import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  getParentDeathSignal,
  isPid1,
  resolveGroup,
  resolveUser,
  signalNumber,
  tcpMigrateReq,
  zombieChildren,
} from "../../src/os/index.ts";
import { BUN, firstLine, within } from "../support/spawn-helpers.ts";

const fixtures = join(import.meta.dir, "fixtures");
const dir = mkdtempSync(join(tmpdir(), "bunicorn-os-"));
const procs: Subprocess[] = [];
const strays: number[] = [];

afterEach(() => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): Subprocess<"ignore", "pipe", "inherit"> {
  const p = Bun.spawn([BUN, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(p);
  return p;
}

/** Process state letter from /proc/<pid>/stat, or null when the pid is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

async function waitDead(pid: number, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    const s = procState(pid);
    if (s === null || s === "Z" || s === "X") return;
    if (performance.now() > deadline) throw new Error(`pid ${pid} still alive (state ${s}) after ${ms} ms`);
    await Bun.sleep(20);
  }
}

describe("small facts", () => {
  test("tcpMigrateReq reads the sysctl as a number on this Linux", () => {
    const v = tcpMigrateReq();
    expect(typeof v).toBe("number");
    expect(v).toBe(Number(readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim()));
  });

  test("isPid1 is false for the test runner", () => {
    expect(isPid1()).toBe(process.pid === 1);
    expect(isPid1()).toBe(false);
  });

  test("signalNumber", () => {
    expect(signalNumber("SIGTERM")).toBe(15);
    expect(signalNumber("SIGKILL")).toBe(9);
    expect(signalNumber(10)).toBe(10);
    expect(() => signalNumber("SIGNOPE" as NodeJS.Signals)).toThrow(/unknown signal "SIGNOPE"/);
  });

  test("a freshly spawned process has no parent-death signal armed (reads back 0)", () => {
    // Not the test runner itself: `bun test --parallel` arms SIGKILL in its worker processes.
    const code = `import { getParentDeathSignal } from ${JSON.stringify(join(import.meta.dir, "../../src/os/index.ts"))}; console.log(getParentDeathSignal());`;
    const child = Bun.spawnSync([process.execPath, "-e", code], { timeout: 10_000 });
    expect(child.stdout.toString().trim()).toBe("0");
    expect(typeof getParentDeathSignal()).toBe("number");
  });
});

describe("users and groups", () => {
  test('resolveUser("root") is uid 0', () => {
    expect(resolveUser("root")).toEqual({ uid: 0, gid: 0, name: "root", known: true });
    expect(resolveUser(0)).toEqual({ uid: 0, gid: 0, name: "root", known: true });
    expect(resolveUser("0")).toEqual({ uid: 0, gid: 0, name: "root", known: true });
  });

  test("unknown names throw a clear error; unknown numeric ids pass through", () => {
    expect(() => resolveUser("no-such-user-bunicorn")).toThrow('unknown user "no-such-user-bunicorn" (not in /etc/passwd)');
    expect(() => resolveUser("")).toThrow("empty user name");
    expect(() => resolveGroup("no-such-group-bunicorn")).toThrow('unknown group "no-such-group-bunicorn" (not in /etc/group)');
    expect(resolveGroup("root")).toBe(0);
    expect(resolveGroup(4321)).toBe(4321);
  });

  test("parses passwd/group files: comments, NIS lines and malformed rows are skipped", () => {
    const passwd = join(dir, "passwd");
    writeFileSync(
      passwd,
      [
        "# comment",
        "+nisuser::::::",
        "broken-line",
        "weird:x:abc:1:bad uid:/:/bin/sh",
        "app:x:1500:1600:App User:/srv/app:/usr/sbin/nologin",
        "",
      ].join("\n"),
    );
    const group = join(dir, "group");
    writeFileSync(group, ["# comment", "staff:x:50:app", "apps:x:1600:", ""].join("\n"));
    expect(resolveUser("app", passwd)).toEqual({ uid: 1500, gid: 1600, name: "app", known: true });
    expect(resolveUser(1500, passwd)).toEqual({ uid: 1500, gid: 1600, name: "app", known: true });
    expect(() => resolveUser("weird", passwd)).toThrow(/unknown user "weird"/);
    expect(resolveUser("7777", passwd)).toEqual({ uid: 7777, gid: process.getgid!(), name: "7777", known: false });
    expect(resolveGroup("apps", group)).toBe(1600);
    expect(resolveGroup("staff", group)).toBe(50);
  });

  test("dropPrivileges in a child: groups, gid, uid switched; PDEATHSIG re-armed", async () => {
    const p = start([join(fixtures, "drop-child.ts"), "nobody"]);
    const r = JSON.parse(await firstLine(p, 10_000));
    const nobody = resolveUser("nobody");
    if (process.getuid!() === 0) {
      expect(r.error).toBeNull();
      expect(r.uid).toBe(nobody.uid);
      expect(r.euid).toBe(nobody.uid);
      expect(r.gid).toBe(nobody.gid);
      expect(r.groups).toEqual([nobody.gid]); // root's supplementary groups are gone
      expect(r.pdeathsig).toBe(15); // the kernel cleared it on setuid; dropPrivileges re-armed it
    } else {
      expect(r.error).toMatch(/EPERM/);
    }
  });

  test("dropPrivileges with initgroups uses the user's /etc/group memberships", async () => {
    const p = start([join(fixtures, "drop-child.ts"), "nobody", "initgroups"]);
    const r = JSON.parse(await firstLine(p, 10_000));
    const nobody = resolveUser("nobody");
    const member = readFileSync("/etc/group", "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .filter((f) => (f[3] ?? "").split(",").includes("nobody"))
      .map((f) => Number(f[2]));
    if (process.getuid!() === 0) {
      expect(r.error).toBeNull();
      expect(r.uid).toBe(nobody.uid);
      expect([...r.groups].sort()).toEqual([...new Set([nobody.gid, ...member])].sort());
    } else {
      expect(r.error).toMatch(/EPERM/);
    }
  });
});

describe("process naming and lifetime", () => {
  test("setProcessComm shows in /proc/<pid>/comm of a child", async () => {
    const p = start([join(fixtures, "comm-child.ts"), "bnc-worker-7"]);
    const r = JSON.parse(await firstLine(p, 10_000));
    expect(r).toEqual({ pid: p.pid, set: "bnc-worker-7" });
    expect(readFileSync(`/proc/${p.pid}/comm`, "utf8")).toBe("bnc-worker-7\n");
  });

  test("setProcessComm truncates to 15 bytes without splitting a UTF-8 character", async () => {
    const p = start([join(fixtures, "comm-child.ts"), "bunicorn: worker 12 [app]"]);
    const r = JSON.parse(await firstLine(p, 10_000));
    expect(r.set).toBe("bunicorn: worke");
    expect(readFileSync(`/proc/${p.pid}/comm`, "utf8")).toBe("bunicorn: worke\n");
    const q = start([join(fixtures, "comm-child.ts"), "worker-ééééé"]); // 7 + 10 bytes
    const s = JSON.parse(await firstLine(q, 10_000));
    expect(s.set).toBe("worker-éééé");
    expect(new TextEncoder().encode(s.set).length).toBe(15);
  });

  test("PDEATHSIG: an armed child dies when its parent is SIGKILLed; an unarmed one survives", async () => {
    const middle = start([join(fixtures, "pdeath-middle.ts")]);
    const r = JSON.parse(await firstLine(middle, 15_000));
    strays.push(r.armed.pid, r.unarmed.pid);
    expect(r.armed).toMatchObject({ ppid: middle.pid, pdeathsig: 15 });
    expect(r.unarmed).toMatchObject({ ppid: middle.pid, pdeathsig: 0 });
    middle.kill("SIGKILL");
    await within(middle.exited, 5000, "middle exit");
    await waitDead(r.armed.pid, 5000);
    const s = procState(r.unarmed.pid);
    expect(s !== null && s !== "Z").toBe(true);
  });
});

describe("OrphanReaper", () => {
  test("as a subreaper: reaps orphans (exit code and signal), never a Bun child's status", async () => {
    const p = start([join(fixtures, "reaper-host.ts"), "300"]);
    const r = JSON.parse(await firstLine(p, 15_000));
    expect(await within(p.exited, 5000, "reaper host exit")).toBe(0);
    expect(r.trackedExit).toBe(7); // Bun still got its child's status
    expect(r.makerExit).toBe(0);
    expect(r.hiddenExit).toBe(9); // unknown to the reaper, but left to Bun by the grace period
    const got = (r.reaped as Array<{ exitCode: number | null; signal: number | null }>)
      .map((c) => (c.signal === null ? `exit ${c.exitCode}` : `signal ${c.signal}`))
      .sort();
    expect(got).toEqual(["exit 5", "signal 9"]);
    expect(r.reaped.map((c: { pid: number }) => c.pid)).not.toContain(r.hiddenPid);
    expect(r.zombiesLeft).toEqual([]);
  });

  test("the hazard it avoids: a naive wait4(-1) that takes a Bun child's status kills Bun with ECHILD", async () => {
    const p = Bun.spawn([BUN, join(fixtures, "naive-steal.ts")], { stdio: ["ignore", "pipe", "pipe"] });
    procs.push(p);
    const code = await within(p.exited, 10_000, "naive-steal exit");
    const out = await new Response(p.stdout).text();
    const err = await new Response(p.stderr).text();
    const first = JSON.parse(out.split("\n")[0]!);
    expect(first.stolen).toBe(first.child);
    expect(first.code).toBe(7);
    expect(out).not.toContain("survived");
    expect(code).not.toBe(0);
    expect(err).toContain("ECHILD");
  });

  test("zombieChildren of the test runner lists none", () => {
    expect(zombieChildren()).toEqual([]);
  });
});
