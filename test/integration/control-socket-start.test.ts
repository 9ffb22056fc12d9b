/**
 * The control socket at start, across USR2, and `bunicorn ctl`'s command-line rules: a stale
 * socket file is replaced, a path a live server holds is refused with one `Error:` line,
 * `control_socket_mode` is applied, `shutdown quick` exits 0; after USR2 the new arbiter leaves
 * the old one's socket alone and takes the path over once the old arbiter exits; usage mistakes
 * are one `Error:` line and exit 2; `ctl` is the subcommand only as the first argument.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ctl, ctlJson } from "../support/ctl-client.ts";
import { CLI, FIXTURES, freePort, isAlive, killAll, ROOT, startBunicorn, waitFor } from "../support/harness.ts";
import { firstLine } from "../support/spawn-helpers.ts";

setDefaultTimeout(30_000);
const dir = mkdtempSync(join(tmpdir(), "bunicorn-ctl-start-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `bunicorn ARGS` to completion (a start that must fail), bounded. */
async function runCli(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, ...args], { cwd, env: { ...process.env, BUNICORN_CMD_ARGS: "" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A socket file nobody answers on: a process listened on it and was SIGKILLed. */
async function staleSocket(path: string): Promise<void> {
  const p = Bun.spawn([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); console.log("up"); setInterval(() => {}, 1000);`], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  expect(await firstLine(p, 5000)).toBe("up");
  p.kill("SIGKILL");
  await p.exited;
  expect(statSync(path).isSocket()).toBe(true);
}

describe("control socket at start", () => {
  test("a stale socket file is replaced, control_socket_mode applied; a live path or a non-socket is refused with one Error: line; shutdown quick exits 0", async () => {
    const sock = join(dir, "a.sock");
    const logfile = join(dir, "a.log");
    await staleSocket(sock);
    const port = await freePort();
    const a = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, "--control-socket", sock, "--control-socket-mode", "0o640", "--error-logfile", logfile], { ready: null });
    const env = { BUNICORN_CONTROL_SOCKET: sock };
    // The path from the environment, no flag.
    await waitFor("the first worker", async () => (await ctl(["--json", "show", "workers"], { env })).stdout.includes('"state":"serving"'), 10_000, 100);
    expect(statSync(sock).mode & 0o777).toBe(0o640);

    const port2 = await freePort();
    const b = await runCli([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port2}`, "--control-socket", sock]);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe(`Error: control_socket: ${sock} is in use (a running server answers on it)\n`);
    // The first server's socket is untouched.
    expect((await ctlJson(sock, ["show", "stats"])).pid).toBe(a.pid);

    const file = join(dir, "regular-file");
    writeFileSync(file, "not a socket");
    const c = await runCli([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port2}`, "--control-socket", file]);
    expect(c.code).toBe(1);
    expect(c.stderr).toBe(`Error: control_socket: ${file} exists and is not a socket\n`);
    expect(readFileSync(file, "utf8")).toBe("not a socket");

    const q = await ctl(["shutdown", "quick"], { env });
    expect(q).toMatchObject({ code: 0, stdout: `arbiter ${a.pid}: quick shutdown started\n` });
    expect(await Promise.race([a.proc.exited, Bun.sleep(10_000).then(() => "timeout")])).toBe(0);
    expect(readFileSync(logfile, "utf8")).toContain("Handling signal: quit");
    expect(existsSync(sock)).toBe(false);
  });

  test("a bad control_socket_mode is one Error: line naming it", async () => {
    const r = await runCli([`${FIXTURES}/app.ts`, "--control-socket", join(dir, "x.sock"), "--control-socket-mode", "0o1000"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toStartWith("Error: Invalid value for control_socket_mode:");
  });
});

describe("control socket across HUP", () => {
  test("a changed control_socket or control_socket_mode in the config file is applied on HUP", async () => {
    const first = join(dir, "hup-1.sock");
    const second = join(dir, "hup-2.sock");
    const config = join(dir, "hup.config.json");
    writeFileSync(config, JSON.stringify({ control_socket: first }));
    const port = await freePort();
    const s = await startBunicorn(["-c", config, `${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`], { workers: 1 });
    expect((await ctlJson(first, ["show", "stats"])).pid).toBe(s.pid);
    writeFileSync(config, JSON.stringify({ control_socket: second, control_socket_mode: 0o660 }));
    // The reply to the reload comes back on the old socket's connection.
    expect(await ctlJson(first, ["reload"])).toEqual({ generation: 1 });
    const moved = await waitFor("the new path", async () => (await ctl(["--control-socket", second, "--json", "show", "stats"])).code === 0, 5000, 100);
    expect(moved).toBe(true);
    expect(statSync(second).mode & 0o777).toBe(0o660);
    expect(existsSync(first)).toBe(false);
    expect(await s.stop()).toBe(0);
    expect(existsSync(second)).toBe(false);
  });
});

describe("control socket set by a HUP", () => {
  test("a server started without control_socket opens it when a HUP's config sets it", async () => {
    const sock = join(dir, "hup-late.sock");
    const config = join(dir, "hup-late.config.json");
    writeFileSync(config, JSON.stringify({}));
    const port = await freePort();
    const s = await startBunicorn(["-c", config, `${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`], { workers: 1 });
    expect(existsSync(sock)).toBe(false);
    writeFileSync(config, JSON.stringify({ control_socket: sock }));
    s.signal("SIGHUP");
    await s.waitForLog(/Control socket at: /, 10_000);
    expect((await ctlJson(sock, ["show", "stats"])).pid).toBe(s.pid);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(await s.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });
});

describe("control socket across USR2", () => {
  test("the new arbiter leaves the old one's socket alone and takes the path over once the old one exits", async () => {
    const sock = join(dir, "usr2.sock");
    const logfile = join(dir, "usr2.log");
    const port = await freePort();
    const old = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, "--control-socket", sock, "--error-logfile", logfile], { ready: null });
    const log = () => readFileSync(logfile, "utf8");
    await waitFor("the first worker", () => log().includes("booted"), 10_000);
    old.signal("SIGUSR2");
    const m = await waitFor("the new arbiter", () => log().match(/Started new arbiter with pid: (\d+)/), 5000);
    const newPid = Number(m[1]);
    try {
      await waitFor("the new arbiter to wait for the socket", () => log().includes(`[${newPid}] [INFO] Control socket ${sock} is held by the old arbiter; taking it over when it exits`), 10_000);
      // Both run; the socket still answers for the old arbiter.
      expect((await ctlJson(sock, ["show", "stats"])).pid).toBe(old.pid);
      await waitFor("the new arbiter's worker", () => new RegExp(`\\[${newPid}\\] \\[DEBUG\\] Worker \\(pid:\\d+\\) booted`).test(log()), 10_000);
      expect((await ctlJson(sock, ["show", "stats"])).pid).toBe(old.pid);

      // The operator retires the old arbiter: the new one takes the path over.
      expect(await old.stop("SIGTERM")).toBe(0);
      const stats = await waitFor("the new arbiter to answer", async () => {
        const r = await ctl(["--control-socket", sock, "--json", "show", "stats"]);
        return r.code === 0 && JSON.parse(r.stdout).pid === newPid ? JSON.parse(r.stdout) : null;
      }, 5000, 100);
      expect(stats.workers).toBe(1);
      await waitFor("the take-over in the log", () => log().includes(`[${newPid}] [INFO] Control socket at: ${sock} (taken over from the old arbiter)`), 2000);
      expect(statSync(sock).mode & 0o777).toBe(0o600);

      expect((await ctl(["--control-socket", sock, "shutdown"])).code).toBe(0);
      await waitFor("the new arbiter to exit", () => !isAlive(newPid), 10_000);
      expect(existsSync(sock)).toBe(false);
    } finally {
      if (isAlive(newPid)) {
        try {
          process.kill(newPid, "SIGQUIT");
        } catch {}
        await waitFor("the new arbiter to exit", () => !isAlive(newPid), 5000).catch(() => process.kill(newPid, "SIGKILL"));
      }
    }
  });
});

describe("bunicorn ctl's command line", () => {
  test("usage mistakes are one Error: line and exit 2; --help prints the commands", async () => {
    const sock = join(dir, "none.sock");
    const cases: [string[], string][] = [
      [["--control-socket", sock], "Error: no command given"],
      [["--control-socket", sock, "restart"], "Error: unknown command: restart"],
      [["--control-socket", sock, "show", "everything"], "Error: unknown command: show everything"],
      [["--control-socket", sock, "worker", "add", "x"], 'Error: worker add: N must be a whole number, got "x"'],
      [["--control-socket", sock, "worker", "kill"], "Error: worker kill: PID must be a process id"],
      [["--control-socket", sock, "--colour", "show"], "Error: unknown option for bunicorn ctl: --colour"],
      [["show", "workers"], "Error: no control socket: give --control-socket PATH or set BUNICORN_CONTROL_SOCKET"],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith(message);
      expect(r.stdout).toBe("");
    }
    const help = await ctl(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: bunicorn ctl [--control-socket PATH] [--json] COMMAND");
    for (const c of ["show all|workers|stats|config|listeners", "worker add [N]", "worker kill PID", "shutdown [graceful|quick]"]) expect(help.stdout).toContain(c);
  });

  test("an unreachable socket is one Error: line and exit 1", async () => {
    const missing = await ctl(["--control-socket", join(dir, "missing.sock"), "show", "workers"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`Error: cannot connect to the control socket ${join(dir, "missing.sock")}: no such file (is the server running with --control-socket ${join(dir, "missing.sock")}?)\n`);
    const stale = join(dir, "stale.sock");
    await staleSocket(stale);
    const refused = await ctl(["--control-socket", stale, "show", "workers"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`Error: cannot connect to the control socket ${stale}: connection refused (no server answers there)\n`);
  });

  test("ctl is the subcommand only as the first argument: an app file called ctl.ts is still served", async () => {
    const appDir = mkdtempSync(join(dir, "app-"));
    writeFileSync(join(appDir, "ctl.ts"), "export default { fetch: () => new Response('ctl app') };\n");
    const r = await runCli(["ctl.ts", "--check-config"], appDir);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const r2 = await runCli(["--check-config", "ctl.ts"], appDir);
    expect({ code: r2.code, stderr: r2.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
