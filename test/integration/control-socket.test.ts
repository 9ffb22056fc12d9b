/**
 * `bunicorn ctl` against a live server, in the default mode (reuse-port TCP) and with a `unix:`
 * bind (shared-socket mode): every command, its table and its `--json` output, the worker count
 * it changes (seen in `show workers`, the arbiter's children and the log), a worker stuck in a
 * loop, logs reopened after a move, a reload, a graceful shutdown, the socket's mode and the
 * protocol's bounds. One bunicorn process per mode, shared by the cases in order.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ctl, ctlJson, rawExchange } from "../support/ctl-client.ts";
import { FIXTURES, freePort, isAlive, killAll, startBunicorn, waitFor, type Bunicorn } from "../support/harness.ts";

interface WorkerRow {
  pid: number;
  age: number;
  generation: number;
  booted: boolean;
  state: string;
  requests: number;
  inFlight: number;
  rss: number;
  heartbeatAge: number;
  uptime: number;
  startedAt: string;
}
interface WorkersReply {
  target: number;
  workers: WorkerRow[];
}

const MODES = [
  { name: "reuse-port TCP", unix: false, mode: "reuse-port" },
  { name: "unix: bind (shared-socket)", unix: true, mode: "shared-socket" },
] as const;

setDefaultTimeout(30_000);
afterAll(killAll);

for (const m of MODES) {
  describe(`bunicorn ctl, ${m.name}`, () => {
    let dir: string;
    let sock: string;
    let logfile: string;
    let b: Bunicorn;
    let url: string;
    let unixPath: string | undefined;
    /** An idle client opened at the start: the arbiter must drop it after a few seconds. */
    let idle: Promise<{ text: string; closedAfterMs: number; closed: boolean }>;

    const log = () => readFileSync(logfile, "utf8") + (existsSync(`${logfile}.1`) ? readFileSync(`${logfile}.1`, "utf8") : "");
    const serving = async (n: number, generation?: number) =>
      waitFor(`${n} serving workers`, async () => {
        const r = await ctlJson<WorkersReply>(sock, ["show", "workers"]);
        const ok = r.workers.length === n && r.workers.every((w) => w.state === "serving" && (generation === undefined || w.generation === generation));
        return ok ? r : null;
      }, 15_000, 100);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "bunicorn-ctl-"));
      sock = join(dir, "ctl.sock");
      logfile = join(dir, "error.log");
      let bind: string;
      if (m.unix) {
        unixPath = join(dir, "app.sock");
        bind = `unix:${unixPath}`;
        url = "http://localhost/";
      } else {
        const port = await freePort();
        bind = `127.0.0.1:${port}`;
        url = `http://127.0.0.1:${port}/`;
      }
      b = await startBunicorn(
        [`${FIXTURES}/app.ts`, "-w", "2", "-b", bind, "--control-socket", sock, "--error-logfile", logfile, "--graceful-timeout", "1", "--timeout", "30"],
        { ready: null },
      );
      await waitFor("the control socket", () => existsSync(sock), 10_000);
      idle = rawExchange(sock, null, 12_000);
      await serving(2);
    });

    afterAll(async () => {
      if (isAlive(b.pid)) await b.stop("SIGQUIT");
      rmSync(dir, { recursive: true, force: true });
    });

    test("the socket is created 0600 and named in the log", () => {
      const st = statSync(sock);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
      expect(log()).toContain(`Control socket at: ${sock}`);
    });

    test("show workers: a table, and JSON listing each worker's pid", async () => {
      // RSS comes with the first heartbeat (within a second of boot).
      const r = await waitFor("heartbeats", async () => {
        const x = await ctlJson<WorkersReply>(sock, ["show", "workers"]);
        return x.workers.every((w) => w.rss > 0) ? x : null;
      }, 5000, 100);
      expect(r.target).toBe(2);
      expect(r.workers.map((w) => w.pid).sort()).toEqual(b.workers().sort());
      for (const w of r.workers) {
        expect(w).toMatchObject({ generation: 0, booted: true, state: "serving" });
        expect(w.rss).toBeGreaterThan(1_000_000);
        expect(w.heartbeatAge).toBeLessThan(3);
        expect(Number.isNaN(Date.parse(w.startedAt))).toBe(false);
      }
      const t = await ctl(["--control-socket", sock, "show", "workers"]);
      expect(t.code).toBe(0);
      const lines = t.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^PID\s+AGE\s+GEN\s+STATE\s+REQUESTS\s+IN_FLIGHT\s+RSS\s+LAST_BEAT\s+UPTIME\s+STARTED$/);
      for (const w of r.workers) expect(t.stdout).toMatch(new RegExp(`^${w.pid}\\s+${w.age}\\s+0\\s+serving\\s`, "m"));
      expect(t.stdout).toContain("Total: 2 workers (2 wanted)");
    });

    test("show stats, listeners, config and all: table and JSON", async () => {
      await fetch(url, { unix: unixPath, signal: AbortSignal.timeout(5000) } as RequestInit);
      const stats = await ctlJson(sock, ["show", "stats"]);
      expect(stats).toMatchObject({ pid: b.pid, generation: 0, targetWorkers: 2, workers: 2, ready: 2 });
      expect(stats.arbiterRss).toBeGreaterThan(1_000_000);
      const st = await ctl(["--control-socket", sock, "show", "stats"]);
      expect(st.stdout).toMatch(new RegExp(`^arbiter pid:\\s+${b.pid}$`, "m"));
      expect(st.stdout).toMatch(/^workers:\s+2 running, 2 ready, 2 wanted$/m);

      const { listeners } = await ctlJson(sock, ["show", "listeners"]);
      expect(listeners).toHaveLength(1);
      expect(listeners[0].mode).toBe(m.mode);
      expect(listeners[0].address).toBe(m.unix ? `unix:${unixPath}` : url.replace(/\/$/, ""));
      if (m.unix) expect(listeners[0].fd).toBeGreaterThanOrEqual(3);
      else expect(listeners[0].fd).toBeNull();
      const lt = await ctl(["--control-socket", sock, "show", "listeners"]);
      expect(lt.stdout).toMatch(new RegExp(`^${listeners[0].address.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s+${m.mode}\\s`, "m"));

      const config = await ctlJson(sock, ["show", "config"]);
      expect(config).toMatchObject({ workers: 2, control_socket: sock, control_socket_mode: 0o600, graceful_timeout: 1 });
      const ct = await ctl(["--control-socket", sock, "show", "config"]);
      expect(ct.stdout).toContain(`control_socket = ${sock}\n`);
      expect(ct.stdout).toContain("workers = 2\n");

      const all = await ctlJson(sock, ["show", "all"]);
      expect(all.arbiter.pid).toBe(b.pid);
      expect(all.workers).toHaveLength(2);
      expect(all.listeners).toEqual(listeners);
      const at = await ctl(["--control-socket", sock, "show"]);
      expect(at.stdout).toContain(`arbiter pid:`);
      expect(at.stdout).toContain("ADDRESS");
      expect(at.stdout).toContain("Total: 2 workers");
    });

    test("worker add 2 and worker remove 1 change the real worker count (TTIN/TTOU's log lines)", async () => {
      const ttin = (log().match(/Handling signal: ttin/g) ?? []).length;
      const add = await ctl(["--control-socket", sock, "worker", "add", "2"]);
      expect(add).toMatchObject({ code: 0, stdout: "workers: 2 -> 4\n" });
      const four = await serving(4);
      await waitFor("4 worker processes", () => b.workers().length === 4, 5000);
      expect(four.workers.map((w) => w.pid).sort()).toEqual(b.workers().sort());
      // The log is written in batches (at most 50 ms late).
      await waitFor("two TTIN lines", () => (log().match(/Handling signal: ttin/g) ?? []).length >= ttin + 2, 2000);
      expect((log().match(/Handling signal: ttin/g) ?? []).length).toBe(ttin + 2);

      const rm = await ctlJson(sock, ["worker", "remove", "1"]);
      expect(rm).toEqual({ previous: 4, workers: 3 });
      const three = await serving(3);
      await waitFor("3 worker processes", () => b.workers().length === 3, 5000);
      expect(three.target).toBe(3);
      await waitFor("the TTOU line", () => log().includes("Handling signal: ttou"), 2000);
      // Gunicorn retires the oldest extra.
      expect(three.workers.map((w) => w.age)).not.toContain(1);
    });

    test("worker kill PID replaces that worker; a pid that is not a worker is refused", async () => {
      const before = await ctlJson<WorkersReply>(sock, ["show", "workers"]);
      const victim = before.workers[0]!.pid;
      const r = await ctl(["--control-socket", sock, "worker", "kill", String(victim)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`worker ${victim}: sent SIGTERM`);
      await waitFor("the killed worker to exit", () => !b.workers().includes(victim), 5000);
      const after = await serving(3);
      expect(after.workers.map((w) => w.pid)).not.toContain(victim);
      expect(Math.max(...after.workers.map((w) => w.age))).toBeGreaterThan(Math.max(...before.workers.map((w) => w.age)));
      await waitFor("the exit in the log", () => log().includes(`Worker (pid:${victim})`), 3000);

      const bad = await ctl(["--control-socket", sock, "worker", "kill", String(b.pid)]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toBe(`Error: worker kill: ${b.pid} is not a worker of this arbiter (pid ${b.pid})\n`);
    });

    test("a worker stuck in a loop never delays it: the socket answers within 1 s, ctl commands at once", async () => {
      // A request that never ends: its worker's event loop spins for good.
      const spin = fetch(`${url}spin`, { unix: unixPath, signal: AbortSignal.timeout(8000) } as RequestInit).catch(() => null);
      const runs: { code: number; ms: number }[] = [];
      const stuck = await waitFor("a worker to miss its heartbeats", async () => {
        const r = await ctl(["--control-socket", sock, "--json", "show", "workers"]);
        runs.push({ code: r.code, ms: r.ms });
        return r.code === 0 ? (JSON.parse(r.stdout) as WorkersReply).workers.find((w) => w.heartbeatAge > 2) : null;
      }, 10_000, 200);
      expect(runs.filter((r) => r.code !== 0)).toEqual([]);
      // The arbiter's answer itself (a round trip on the socket) within 1 s while the worker spins;
      // each whole ctl command, Bun's own start included (slower when the suite loads the
      // machine), within 5 s: far below the 2 s heartbeats the stuck worker has already missed.
      for (const command of ["show workers", "show stats", "show all"]) {
        const raw = await rawExchange(sock, `${JSON.stringify({ command })}\n`, 3000);
        expect({ command, ok: JSON.parse(raw.text).ok, fast: raw.closedAfterMs < 1000 }).toEqual({ command, ok: true, fast: true });
      }
      expect(Math.max(...runs.map((r) => r.ms))).toBeLessThan(5000);
      for (const args of [["show", "workers"], ["show", "stats"], ["show", "all"]]) {
        const r = await ctl(["--control-socket", sock, ...args]);
        expect(r.code).toBe(0);
        expect(r.ms).toBeLessThan(5000);
      }
      // It cannot run its TERM handler: graceful_timeout (1 s) later it is SIGKILLed and replaced.
      expect((await ctl(["--control-socket", sock, "worker", "kill", String(stuck.pid)])).code).toBe(0);
      await waitFor("the stuck worker to be gone", () => !b.workers().includes(stuck.pid), 8000);
      await serving(3);
      await spin;
    });

    test("reopen reopens the logs: a moved log file is recreated", async () => {
      renameSync(logfile, `${logfile}.1`);
      const r = await ctl(["--control-socket", sock, "reopen"]);
      expect(r).toMatchObject({ code: 0, stdout: "log files reopened\n" });
      await waitFor("the log file to be recreated", () => existsSync(logfile), 3000);
      // Written (flushed) before the reopen, into the moved file.
      expect(readFileSync(`${logfile}.1`, "utf8")).toContain("Handling signal: usr1");
    });

    test("reload starts a new generation (HUP's log lines); the socket survives it", async () => {
      const before = await ctlJson<WorkersReply>(sock, ["show", "workers"]);
      const r = await ctlJson(sock, ["reload"]);
      expect(r).toEqual({ generation: 1 });
      // HUP re-reads the config: the worker count goes back to its `workers` (2), as in Gunicorn.
      const after = await serving(2, 1);
      expect(after.target).toBe(2);
      for (const w of after.workers) expect(before.workers.map((x) => x.pid)).not.toContain(w.pid);
      // Written after the reopen: the recreated file has them.
      await waitFor("the HUP lines", () => readFileSync(logfile, "utf8").includes("Hang up: Master"), 2000);
      const text = readFileSync(logfile, "utf8");
      expect(text).toContain("Handling signal: hup");
      expect(text).toContain("Hang up: Master");
      expect((await ctlJson(sock, ["show", "stats"])).generation).toBe(1);
    });

    test("the protocol is bounded: a silent client is dropped, an overlong line refused, bad JSON answered", async () => {
      const silent = await idle;
      expect(silent.closed).toBe(true);
      expect(silent.closedAfterMs).toBeGreaterThan(4000);
      expect(silent.closedAfterMs).toBeLessThan(8000);
      expect(JSON.parse(silent.text)).toEqual({ ok: false, error: "no request line within 5 s" });

      const long = await rawExchange(sock, "x".repeat(70 * 1024), 3000);
      expect(long.closed).toBe(true);
      expect(JSON.parse(long.text)).toEqual({ ok: false, error: "request line longer than 65536 bytes" });

      const bad = await rawExchange(sock, "not json\n", 3000);
      expect(JSON.parse(bad.text).ok).toBe(false);
      expect(JSON.parse(bad.text).error).toStartWith("the request is not JSON");

      const plain = await rawExchange(sock, `${JSON.stringify({ command: "show workers" })}\n`, 3000);
      expect(plain.closed).toBe(true);
      expect(plain.text.endsWith("\n")).toBe(true);
      const reply = JSON.parse(plain.text);
      expect(reply.ok).toBe(true);
      expect(reply.result.workers).toHaveLength(2);

      const unknown = await rawExchange(sock, `${JSON.stringify({ command: ["worker", "fly"] })}\n`, 3000);
      expect(JSON.parse(unknown.text)).toMatchObject({ ok: false });
    });

    test("shutdown graceful: the arbiter exits 0 and removes the socket", async () => {
      const r = await ctl(["--control-socket", sock, "shutdown", "graceful"]);
      expect(r).toMatchObject({ code: 0, stdout: `arbiter ${b.pid}: graceful shutdown started\n` });
      const code = await Promise.race([b.proc.exited, Bun.sleep(10_000).then(() => "timeout")]);
      expect(code).toBe(0);
      expect(existsSync(sock)).toBe(false);
      expect(log()).toContain("Handling signal: term"); // flushed at exit
      const gone = await ctl(["--control-socket", sock, "show", "workers"]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toStartWith("Error: cannot connect to the control socket");
      expect(gone.stderr.trim().split("\n")).toHaveLength(1);
    });
  });
}
