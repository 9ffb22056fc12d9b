/**
 * Signals and listening modes with real processes: TERM is graceful, INT is not; unix sockets,
 * fd://3 and systemd sockets are served by every worker; max_requests recycles without failures.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childPids, countBooted, FIXTURES, freePort, get, isAlive, killAll, ROOT, sleep, startBunicorn, waitFor, waitForHttp } from "../support/harness.ts";

afterEach(killAll);
afterAll(killAll);

/** Runs bunicorn under fixtures/fd-launcher.ts, which owns a listening socket on `port` and passes it as fd 3. */
function startLauncher(port: number, mode: "plain" | "systemd", args: string[]) {
  return Bun.spawn([process.execPath, `${FIXTURES}/fd-launcher.ts`, String(port), mode, "--", ...args], {
    cwd: ROOT,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("stopping", () => {
  for (const mode of ["reuse-port", "shared-socket"] as const) {
    const extra = mode === "shared-socket" ? ["--no-reuse-port"] : [];
    test(`${mode}: TERM lets an in-flight 2 s request finish`, async () => {
      const port = await freePort();
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`, ...extra], { workers: 2 });
      const started = Date.now();
      const slow = get(`http://127.0.0.1:${port}/slow?ms=2000`, { timeoutMs: 10_000 });
      await sleep(300);
      const exit = b.stop("SIGTERM");
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^slow 2000 done/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(await exit).toBe(0);
      expect(b.output()).toContain("Handling signal: term");
    });

    test(`${mode}: INT does not wait for an in-flight request`, async () => {
      const port = await freePort();
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, ...extra], { workers: 1 });
      const workers = b.workers();
      const slow = get(`http://127.0.0.1:${port}/slow?ms=5000`, { timeoutMs: 10_000 }).then(
        (r) => r.status,
        () => "failed",
      );
      await sleep(300);
      const started = Date.now();
      const code = await b.stop("SIGINT");
      expect(Date.now() - started).toBeLessThan(2500);
      expect(code).toBe(0);
      expect(await slow).toBe("failed");
      for (const w of workers) expect(isAlive(w)).toBe(false);
    });
  }
});

describe("shared-socket listeners", () => {
  test("-b unix:PATH -w 2 serves from both workers; the socket file follows umask and is removed at exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunicorn-unix-"));
    const path = join(dir, "x.sock");
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `unix:${path}`, "--umask", "0o077"], { workers: 2 });
    expect(statSync(path).mode & 0o777).toBe(0o700);
    expect(b.output()).toContain(`Listening at: unix:${path}`);
    const seen = new Set<string>();
    // New connections each time: pooled keep-alive connections would all stay with whichever worker accepted them first.
    await waitFor("both workers to answer", async () => {
      const batch = await Promise.all(
        Array.from({ length: 16 }, () => fetch("http://localhost/slow?ms=50", { unix: path, keepalive: false, headers: { connection: "close" }, signal: AbortSignal.timeout(5000) } as RequestInit).then((r) => r.text())),
      );
      for (const body of batch) seen.add(body.split(" by ")[1]!);
      return seen.size === 2;
    }, 15_000);
    expect([...seen].sort()).toEqual(b.workers().map(String).sort());
    expect(await b.stop()).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  test("fd://3 serves a socket handed over by a launcher", async () => {
    const port = await freePort();
    const launcher = startLauncher(port, "plain", [`${FIXTURES}/app.ts`, "-w", "2", "-b", "fd://3"]);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/`, 15_000);
      const pids = new Set(await Promise.all(Array.from({ length: 8 }, async () => (await get(`http://127.0.0.1:${port}/pid`)).text())));
      expect(pids.size).toBeGreaterThanOrEqual(1);
    } finally {
      launcher.kill("SIGTERM");
      expect(await launcher.exited).toBe(0);
    }
    const err = await new Response(launcher.stderr).text();
    expect(err).toContain(`Listening at: http://127.0.0.1:${port}`);
  });

  test("systemd LISTEN_FDS sockets are adopted", async () => {
    const port = await freePort();
    const launcher = startLauncher(port, "systemd", [`${FIXTURES}/app.ts`, "-w", "1"]);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/`, 15_000);
    } finally {
      launcher.kill("SIGTERM");
      await launcher.exited;
    }
    const err = await new Response(launcher.stderr).text();
    expect(err).toContain(`Listening at: http://127.0.0.1:${port}`);
    expect(err).not.toContain("127.0.0.1:8000");
  });

  test("max_requests recycles workers without failed requests", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`, "--no-reuse-port", "--max-requests", "25", "--max-requests-jitter", "5"], { workers: 2 });
    const first = new Set(b.workers());
    let failed = 0;
    const pids = new Set<string>();
    // Until a recycled worker's replacement has answered (bounded in count and time).
    const deadline = Date.now() + 20_000;
    for (let i = 0; i < 3000 && Date.now() < deadline && ![...pids].some((p) => !first.has(Number(p))); i++) {
      try {
        const res = await get(`http://127.0.0.1:${port}/pid`);
        if (res.status !== 200) failed++;
        pids.add(await res.text());
      } catch {
        failed++;
      }
    }
    expect(failed).toBe(0);
    expect(b.output()).toContain("Autorestarting worker after current request.");
    expect([...pids].some((p) => !first.has(Number(p)))).toBe(true);
    await waitFor("2 workers again", () => childPids(b.pid).length === 2 && countBooted(b) >= 2);
    expect(await b.stop()).toBe(0);
  }, 60_000);
});

test("graceful_timeout is enforced: a request outliving it is cut and the arbiter exits", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, "--graceful-timeout", "1"], { workers: 1 });
  const [w] = b.workers();
  const slow = get(`http://127.0.0.1:${port}/slow?ms=8000`, { timeoutMs: 15_000 }).then(
    (r) => r.status,
    () => "cut",
  );
  await sleep(300);
  const started = Date.now();
  expect(await b.stop("SIGTERM")).toBe(0);
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(900);
  expect(took).toBeLessThan(4000);
  expect(await slow).toBe("cut");
  expect(isAlive(w!)).toBe(false);
});
