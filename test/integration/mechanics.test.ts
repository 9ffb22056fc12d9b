/**
 * Server mechanics with real processes: hooks run in their places, workers die with their
 * arbiter, a malformed request gets a 400 and the worker keeps serving, pidfile and daemon mode,
 * process names, and --reload on a file change.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, childPids, FIXTURES, freePort, get, isAlive, killAll, ROOT, sleep, startBunicorn, waitFor, waitForHttp } from "../support/harness.ts";

afterEach(killAll);
afterAll(killAll);

/** Sends raw bytes and returns what came back before the server closed (bounded). */
function raw(port: number, bytes: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const s = connect(port, "127.0.0.1", () => s.write(bytes));
    s.on("data", (d) => (got += d.toString("latin1")));
    const done = () => resolve(got);
    s.on("close", done);
    s.on("error", done);
    setTimeout(() => {
      s.destroy();
      done();
    }, timeoutMs);
  });
}

test("hooks run in their places, in order, with raw_env applied in the worker", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-hooks-"));
  const log = join(dir, "hooks.log");
  const port = await freePort();
  const b = await startBunicorn(["-c", `${FIXTURES}/hooks.config.ts`, `${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`], { workers: 1, env: { HOOK_LOG: log } });
  await waitFor("when_ready", () => readFileSync(log, "utf8").includes("when_ready"));
  expect((await get(`http://127.0.0.1:${port}/pid`)).status).toBe(200);
  await waitFor("post_request", () => readFileSync(log, "utf8").includes("post_request"));
  expect(await b.stop()).toBe(0);
  const lines = readFileSync(log, "utf8").trim().split("\n");
  expect(lines).toEqual([
    "on_starting",
    "nworkers_changed 1 null",
    "pre_fork",
    "post_fork yes",
    "post_worker_init",
    "when_ready",
    "pre_request /pid",
    "post_request /pid 200",
    "worker_exit",
    "child_exit",
    "on_exit",
  ]);
});

test("hooks given as PATH#EXPORT in the environment run in the worker too", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-hookref-"));
  const log = join(dir, "hooks.log");
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`], {
    workers: 1,
    env: { HOOK_LOG: log, BUNICORN_POST_FORK: `${FIXTURES}/hooks.config.ts#post_fork`, BUNICORN_ON_STARTING: `${FIXTURES}/hooks.config.ts#on_starting` },
  });
  await waitFor("post_fork", () => existsSync(log) && readFileSync(log, "utf8").includes("post_fork"));
  expect(await b.stop()).toBe(0);
  expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["on_starting", "post_fork undefined"]);
});

test("workers exit when the arbiter is killed with SIGKILL", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`], { workers: 2 });
  const workers = b.workers();
  expect(workers.length).toBe(2);
  b.proc.kill("SIGKILL");
  await waitFor("orphaned workers to exit", () => workers.every((w) => !isAlive(w)), 5000);
});

describe("malformed requests", () => {
  for (const mode of ["reuse-port", "shared-socket"] as const) {
    test(`${mode}: garbage gets a plain 400 and the worker keeps serving`, async () => {
      const port = await freePort();
      const extra = mode === "shared-socket" ? ["--no-reuse-port"] : [];
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, ...extra], { workers: 1 });
      const pid = b.workers()[0];
      const reply = await raw(port, "G@T / HTTP/1.1\r\nHost: x\r\n\r\n");
      expect(reply).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply).not.toContain("    at ");
      const smuggle = await raw(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      expect(smuggle).toMatch(/^HTTP\/1\.1 400 /);
      expect(await (await get(`http://127.0.0.1:${port}/pid`)).text()).toBe(String(pid));
      expect(b.workers()).toEqual([pid!]);
      expect(await b.stop()).toBe(0);
    });
  }

  test("shared-socket: a request line over limit_request_line gets a 4xx", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--limit-request-line", "100"], { workers: 1 });
    expect(b.output()).toContain("(shared-socket mode)");
    const reply = await raw(port, `GET /${"a".repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(await b.stop()).toBe(0);
  });
});

describe("static files (Bun.file bodies)", () => {
  const source = readFileSync(`${FIXTURES}/app.ts`, "utf8");

  for (const mode of ["reuse-port", "shared-socket"] as const) {
    test(`${mode}: a download in progress when TERM arrives completes; then the arbiter exits 0`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "bunicorn-big-"));
      const big = join(dir, "big.bin");
      const size = 24 * 1024 * 1024;
      writeFileSync(big, Buffer.alloc(size, 7));
      const port = await freePort();
      const extra = mode === "shared-socket" ? ["--no-reuse-port"] : [];
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, ...extra], { workers: 1, env: { FIXTURE_BIG_FILE: big } });
      const sock = connect(port, "127.0.0.1");
      let got = 0;
      let head = "";
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`download stalled at ${got} bytes`)), 20_000);
        sock.on("error", reject);
        sock.on("data", (d: Buffer) => {
          if (head === "") {
            head = d.toString("latin1", 0, d.indexOf("\r\n\r\n"));
            got += d.length - (head.length + 4);
            // Slow reader: the server's writes back up while the stop begins.
            sock.pause();
            b.signal("SIGTERM");
            setTimeout(() => sock.resume(), 500);
          } else got += d.length;
          if (got >= size) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      sock.write(`GET /big-file HTTP/1.1\r\nHost: x\r\n\r\n`);
      await done;
      sock.destroy();
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head.toLowerCase()).toContain(`content-length: ${size}`);
      expect(got).toBe(size);
      expect(await b.proc.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }, 40_000);
  }

  for (const mode of ["reuse-port", "shared-socket"] as const) {
    test(`${mode}: a file goes out whole with a Content-Length; --no-sendfile reads it through user space`, async () => {
      for (const sendfile of [true, false]) {
        const port = await freePort();
        const extra = [...(mode === "shared-socket" ? ["--no-reuse-port"] : []), ...(sendfile ? [] : ["--no-sendfile"])];
        const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, ...extra], { workers: 1 });
        const res = await get(`http://127.0.0.1:${port}/file`);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(source);
        if (sendfile || mode === "shared-socket") expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(source)));
        // Bun.serve frames a JavaScript stream as chunked: the file did not go out with sendfile(2).
        else expect(res.headers.get("transfer-encoding")).toBe("chunked");
        expect(await b.stop()).toBe(0);
      }
    });
  }
});

test("the re-executed arbiter takes the launcher's config (hooks from the file included) and passes none of it to workers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-handoff-"));
  const log = join(dir, "hooks.log");
  const port = await freePort();
  const b = await startBunicorn(["-c", `${FIXTURES}/hooks.config.ts`, `${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`], { workers: 1, env: { HOOK_LOG: log } });
  await waitFor("when_ready", () => readFileSync(log, "utf8").includes("when_ready"));
  // The exec'd image was handed a file (its initial environment names it), read and deleted it...
  const named = readFileSync(`/proc/${b.pid}/environ`, "utf8").split("\0").find((e) => e.startsWith("BUNICORN_CONFIG_HANDOFF="));
  const path = named!.slice("BUNICORN_CONFIG_HANDOFF=".length);
  expect(path).toStartWith(tmpdir());
  expect(existsSync(path)).toBe(false);
  // ...and the worker was not.
  const [w] = b.workers();
  expect(readFileSync(`/proc/${w}/environ`, "utf8")).not.toContain("BUNICORN_CONFIG_HANDOFF");
  expect(await b.stop()).toBe(0);
  const lines = readFileSync(log, "utf8").trim().split("\n");
  expect(lines[0]).toBe("on_starting");
  expect(lines).toContain("post_fork yes");
  expect(lines.at(-1)).toBe("on_exit");
});

test("process names: the arbiter and workers show as 'bunicorn: worker [NAME]' in ps, honouring proc_name", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "-n", "shop"], { workers: 1 });
  const [w] = b.workers();
  const cmdline = readFileSync(`/proc/${w}/cmdline`, "utf8").split("\0");
  expect(cmdline[0]).toBe("bunicorn: worker [shop]");
  expect(readFileSync(`/proc/${w}/comm`, "utf8").trim()).toBe("bunicorn worker");
  expect(readFileSync(`/proc/${b.pid}/comm`, "utf8").trim()).toBe("bunicorn master");
  // The arbiter re-executed itself in place (same pid) to carry its name in ps.
  expect(readFileSync(`/proc/${b.pid}/cmdline`, "utf8").split("\0")[0]).toBe("bunicorn: master [shop]");
  expect(await b.stop()).toBe(0);
});

test("daemon mode detaches, writes the pidfile, and stops on TERM removing it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-daemon-"));
  const pidfile = join(dir, "d.pid");
  const port = await freePort();
  const launcher = Bun.spawn([process.execPath, CLI, `${FIXTURES}/app.ts`, "-D", "-p", pidfile, "-b", `127.0.0.1:${port}`], {
    cwd: ROOT,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdio: ["ignore", "ignore", "ignore"],
  });
  expect(await launcher.exited).toBe(0);
  const pid = await waitFor("the pidfile", () => (existsSync(pidfile) ? Number(readFileSync(pidfile, "utf8").trim()) : 0));
  try {
    expect(pid).not.toBe(launcher.pid);
    await waitForHttp(`http://127.0.0.1:${port}/`);
    // Detached: a session leader of its own.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    expect(Number(fields[3])).toBe(pid);
  } finally {
    process.kill(pid, "SIGTERM");
  }
  await waitFor("the daemon to exit", () => !isAlive(pid), 10_000);
  expect(existsSync(pidfile)).toBe(false);
});

test("a second arbiter refuses a pidfile held by a live one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-pid-"));
  const pidfile = join(dir, "a.pid");
  const port = await freePort();
  const a = await startBunicorn([`${FIXTURES}/app.ts`, "-p", pidfile, "-b", `127.0.0.1:${port}`], { workers: 1 });
  const port2 = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-p", pidfile, "-b", `127.0.0.1:${port2}`], { ready: null });
  expect(await b.proc.exited).toBe(1);
  expect(b.output()).toContain(`already running on PID ${a.pid}`);
  expect(readFileSync(pidfile, "utf8").trim()).toBe(String(a.pid));
  expect(await a.stop()).toBe(0);
});

test("--reload restarts workers when a source file changes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-reload-"));
  const app = join(dir, "app.ts");
  writeFileSync(app, `export default { fetch: () => new Response("v1") };\n`);
  const port = await freePort();
  const b = await startBunicorn([app, "--reload", "--chdir", dir, "-b", `127.0.0.1:${port}`], { workers: 1 });
  expect(await (await get(`http://127.0.0.1:${port}/`)).text()).toBe("v1");
  await sleep(200);
  writeFileSync(app, `export default { fetch: () => new Response("v2") };\n`);
  await waitFor("the new code", async () => (await (await get(`http://127.0.0.1:${port}/`)).text()) === "v2", 10_000);
  expect(b.output()).toContain("modified");
  expect(await b.stop()).toBe(0);
});

test("-u/-g: workers drop privileges after binding; the arbiter keeps its user", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "-u", "nobody", "-g", "nogroup"], { workers: 1 });
  const [w] = b.workers();
  const status = readFileSync(`/proc/${w}/status`, "utf8");
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
  const nobody = Number(readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("nobody:"))!.split(":")[2]);
  expect(uid).toBe(process.getuid!() === 0 ? nobody : process.getuid!());
  expect(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${b.pid}/status`, "utf8"))![1])).toBe(process.getuid!());
  expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
  expect(await b.stop()).toBe(0);
});

test("worker_connections caps requests in flight with a plain 503 (reuse-port mode)", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--worker-connections", "1"], { workers: 1 });
  const slow = get(`http://127.0.0.1:${port}/slow?ms=800`);
  await sleep(200);
  const busy = await get(`http://127.0.0.1:${port}/`);
  expect(busy.status).toBe(503);
  expect((await slow).status).toBe(200);
  expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
  expect(await b.stop()).toBe(0);
});

test("[::1]:PORT binds IPv6", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `[::1]:${port}`], { workers: 1 });
  expect(b.output()).toContain(`Listening at: http://[::1]:${port}`);
  expect((await get(`http://[::1]:${port}/`)).status).toBe(200);
  expect(await b.stop()).toBe(0);
});

test("as PID 1 (a new pid namespace), the arbiter reaps orphaned processes", async () => {
  const port = await freePort();
  const proc = Bun.spawn(["unshare", "-pf", "--kill-child", "--mount-proc", process.execPath, CLI, `${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`], {
    cwd: ROOT,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // unshare forks the namespace's PID 1: the arbiter is unshare's only child.
  const arbiter = await waitFor("the arbiter", () => childPids(proc.pid)[0]);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, 15_000);
    const stat = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8");
    expect(stat(arbiter)).toContain("(bunicorn master)");
    for (let i = 0; i < 3; i++) expect((await get(`http://127.0.0.1:${port}/orphan`)).status).toBe(200);
    // The orphans exit after 0.2 s; none may linger as a zombie child of the arbiter.
    await sleep(1500);
    await waitFor("no zombie children", () => childPids(arbiter).every((c) => !/\) Z /.test(stat(c))), 5000);
    expect(childPids(arbiter).length).toBe(1);
  } finally {
    // unshare does not pass signals on: stop the arbiter itself.
    process.kill(arbiter, "SIGTERM");
    const code = await Promise.race([proc.exited, sleep(10_000).then(() => null)]);
    if (code === null) proc.kill("SIGKILL");
    expect(code).toBe(0);
  }
});

test("run() from code: a framework's launcher starts the same server with settings in code", async () => {
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, `${FIXTURES}/from-code.ts`, String(port)], {
    cwd: ROOT,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, 15_000);
    await waitFor("2 workers", () => childPids(proc.pid).length === 2);
    expect(readFileSync(`/proc/${childPids(proc.pid)[0]}/cmdline`, "utf8").split("\0")[0]).toBe("bunicorn: worker [from-code]");
    // No re-exec from code: the launcher's pid is the arbiter's.
    expect(readFileSync(`/proc/${proc.pid}/comm`, "utf8").trim()).toBe("bunicorn master");
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
});
