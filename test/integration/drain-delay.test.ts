// drain_delay: on SIGTERM /readyz turns 503 at once, every request keeps getting its 200 for
// drain_delay seconds, then the server stops as usual. In reuse-port TCP (the default) and with a
// unix: bind; INT during the delay stops at once.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, killAll, startBunicorn } from "../support/harness.ts";

const APP = new URL("../parity/fixtures/metrics-app.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "bunicorn-drain-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function get(url: string, unix?: string): Promise<number> {
  try {
    const res = await fetch(url, { keepalive: false, signal: AbortSignal.timeout(2000), ...(unix ? { unix } : {}) } as RequestInit);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function drains(name: string, unix: boolean): Promise<void> {
  const sock = join(dir, `${name}.sock`);
  const metrics = join(dir, `${name}-metrics.sock`);
  const port = unix ? 0 : await freePort();
  const b = await startBunicorn([APP, "-w", "2", "-b", unix ? `unix:${sock}` : `127.0.0.1:${port}`, "--drain-delay", "2", "--metrics-bind", `unix:${metrics}`], { workers: 2 });
  const app = unix ? "http://localhost/" : `http://127.0.0.1:${port}/`;
  const readyz = () => get("http://localhost/readyz", metrics);
  expect(await readyz()).toBe(200);
  const t0 = performance.now();
  b.signal("SIGTERM");
  const exited = b.proc.exited.then((code) => ({ code, at: performance.now() - t0 }));
  let gone = false;
  void exited.then(() => (gone = true));
  // Readiness first: 503 within half a second.
  let notReadyAt = -1;
  while (performance.now() - t0 < 500) {
    if ((await readyz()) === 503) {
      notReadyAt = performance.now() - t0;
      break;
    }
  }
  expect(notReadyAt).toBeGreaterThanOrEqual(0);
  // The app keeps answering until the delay is over.
  const during: number[] = [];
  while (performance.now() - t0 < 1800 && !gone) {
    during.push(await get(app, unix ? sock : undefined));
    await Bun.sleep(50);
  }
  expect(during.length).toBeGreaterThan(5);
  expect(during.every((s) => s === 200)).toBe(true);
  expect(await readyz()).toBe(503);
  const { code, at } = await exited;
  expect(code).toBe(0);
  expect(at).toBeGreaterThanOrEqual(2000);
  expect(at).toBeLessThan(6000);
  const out = b.output();
  const draining = out.indexOf("Draining for 2s before stopping");
  expect(draining).toBeGreaterThan(out.indexOf("Handling signal: term"));
  expect(out.indexOf("Shutting down: Master")).toBeGreaterThan(draining);
}

test("reuse-port TCP and unix: the drain delay keeps serving, not ready, then stops", async () => {
  await Promise.all([drains("tcp", false), drains("unix", true)]);
});

test("INT during the drain delay stops at once", async () => {
  const port = await freePort();
  const b = await startBunicorn([APP, "-b", `127.0.0.1:${port}`, "--drain-delay", "30"]);
  b.signal("SIGTERM");
  await b.waitForLog(/Draining for 30s/);
  const t0 = performance.now();
  b.signal("SIGINT");
  expect(await b.proc.exited).toBe(0);
  expect(performance.now() - t0).toBeLessThan(4000);
  expect(b.output()).toMatch(/Handling signal: int\n[^\n]*Shutting down: Master/);
});
