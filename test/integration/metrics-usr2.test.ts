// The metrics address across USR2 (reuse-port TCP, a TCP metrics address): the new arbiter
// leaves it to the old one while both run, and takes it over once the old one exits.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, freePort, isAlive, killAll, startBunicorn, waitFor } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-metrics-usr2-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

test("after USR2 the metrics address answers for the old arbiter, then for the new one once the old exits", async () => {
  const logfile = join(dir, "usr2.log");
  const [port, metricsPort] = [await freePort(), await freePort()];
  const old = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--metrics-bind", `127.0.0.1:${metricsPort}`, "--error-logfile", logfile], { ready: null });
  const log = () => readFileSync(logfile, "utf8");
  const statsPid = async (): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/stats`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { arbiter: { pid: number } }).arbiter.pid;
  };
  await waitFor("the first worker", () => log().includes("booted"), 10_000);
  expect(log()).toContain(`[${old.pid}] [INFO] Metrics at: http://127.0.0.1:${metricsPort}`);
  old.signal("SIGUSR2");
  const m = await waitFor("the new arbiter", () => log().match(/Started new arbiter with pid: (\d+)/), 5000);
  const newPid = Number(m[1]);
  try {
    await waitFor("the new arbiter to wait for the address", () => log().includes(`[${newPid}] [INFO] Metrics address http://127.0.0.1:${metricsPort} is held by the old arbiter`), 10_000);
    await waitFor("the new arbiter's worker", () => new RegExp(`\\[${newPid}\\] \\[DEBUG\\] Worker \\(pid:\\d+\\) booted`).test(log()), 10_000);
    expect(await statsPid()).toBe(old.pid);
    expect(await old.stop("SIGTERM")).toBe(0);
    await waitFor("the new arbiter to answer", async () => (await statsPid()) === newPid, 5000, 100);
    await waitFor("the take-over in the log", () => log().includes(`[${newPid}] [INFO] Metrics at: http://127.0.0.1:${metricsPort}`), 2000);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(ready.status).toBe(200);
  } finally {
    if (isAlive(newPid)) {
      process.kill(newPid, "SIGTERM");
      await waitFor("the new arbiter to exit", () => !isAlive(newPid), 10_000).catch(() => process.kill(newPid, "SIGKILL"));
    }
  }
});
