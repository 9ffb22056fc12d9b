/**
 * An idle arbiter and an idle worker load only what they use (every module costs resident
 * memory: docs/design.md "Memory"). Each process lists its loaded modules through a preload
 * (fixtures/module-list.ts, via BUN_OPTIONS); the default mode (reuse-port TCP) and a
 * shared-socket bind (unix:) are checked, since their workers load different code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, freePort, get, killAll, startBunicorn, waitFor, type Bunicorn } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-modules-"));
const servers: Record<"tcp" | "unix", { b: Bunicorn; url: string; unix?: string }> = {} as never;

/** The modules process `pid` (role `master` or `worker`) has loaded. */
function modules(role: string, pid: number): string[] {
  return readFileSync(join(dir, `${role}-${pid}.txt`), "utf8").split("\n").filter(Boolean);
}

beforeAll(async () => {
  const env = { BUN_OPTIONS: `--preload ${FIXTURES}/module-list.ts`, BUNICORN_TEST_MODULES_DIR: dir };
  const port = await freePort();
  const sock = join(dir, "s.sock");
  const [tcp, unix] = await Promise.all([
    startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`], { env }),
    startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `unix:${sock}`], { env }),
  ]);
  servers.tcp = { b: tcp, url: `http://127.0.0.1:${port}/` };
  servers.unix = { b: unix, url: "http://localhost/", unix: sock };
  for (const s of Object.values(servers)) {
    // Served once (what an idle server has done), then listed again after that.
    expect((await get(s.url, s.unix ? { unix: s.unix } : {})).status).toBe(200);
    const pids = [s.b.pid, ...s.b.workers()];
    const since = Date.now();
    await waitFor("module lists written after the request", () =>
      pids.every((pid) => readdirSync(dir).some((f) => f.endsWith(`-${pid}.txt`) && Bun.file(join(dir, f)).lastModified > since + 150)), 5000);
  }
}, 30_000);

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

// Modules neither process loads while idle, unless a setting asks for them.
const NEVER_IDLE = [
  "src/config/registry.ts", // the settings registry: the re-executed arbiter takes the handoff
  "src/config/docs.ts",
  "src/config/cli-args.ts",
  "cli/help.ts",
  "src/log/syslog.ts",
  "src/log/statsd.ts",
  "src/arbiter/metrics-server.ts", // metrics_bind unset
  "src/arbiter/control-socket.ts", // control_socket unset
  "src/arbiter/pidfile.ts",
  "src/arbiter/reloader.ts",
  "src/net/systemd.ts",
  "src/workers/thread-worker.ts", // no gthread
];
// What only a worker needs: the arbiter never serves a request.
const WORKER_ONLY = ["src/workers/process-worker.ts", "src/workers/reuse-port-fetch.ts", "src/workers/base.ts", "src/http/engine.ts", "src/http/serve.ts"];

describe.each(["tcp", "unix"] as const)("idle modules, %s bind", (mode) => {
  test("the arbiter loads no worker code, no settings registry, nothing a setting left off", () => {
    const s = servers[mode];
    const loaded = modules("master", s.b.pid);
    expect(loaded).toContain("src/arbiter/arbiter.ts");
    expect(loaded.filter((m) => NEVER_IDLE.includes(m) || WORKER_ONLY.includes(m))).toEqual([]);
  });

  test("the worker loads its engine only, no settings registry, nothing a setting left off", () => {
    const s = servers[mode];
    const [pid] = s.b.workers();
    const loaded = modules("worker", pid!);
    expect(loaded).toContain("src/workers/process-worker.ts");
    expect(loaded.filter((m) => NEVER_IDLE.includes(m))).toEqual([]);
    // Reuse-port mode serves through Bun.serve: bunicorn's own HTTP engine stays unloaded.
    if (mode === "tcp") expect(loaded.filter((m) => m.startsWith("src/http/engine") || m === "src/http/serve.ts")).toEqual([]);
    else expect(loaded).toContain("src/http/engine.ts");
  });
});
