/**
 * The examples an operator or framework author copies (README, docs/plugins.md) run as their
 * comments say: a Hono app, a plain Bun `routes` app, and a framework's launcher (run() with the
 * app relative to the launcher, started from another working directory). One bunicorn per
 * example, all started at once. (Elysia: test/parity/elysia.test.ts; the plugin examples:
 * test/parity/plugin-worker.test.ts, test/integration/plugin-examples.test.ts.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { childPids, freePort, get, killAll, ROOT, startBunicorn, waitFor, waitForHttp, type Bunicorn } from "./support/harness.ts";
import { within } from "./support/spawn-helpers.ts";

const ELSEWHERE = mkdtempSync(join(tmpdir(), "bunicorn-examples-"));
const ports = { hono: 0, routes: 0, launch: 0 };
let hono: Bunicorn;
let routes: Bunicorn;
let launcher: Subprocess<"ignore", "pipe", "pipe">;
let launcherOut = "";

beforeAll(async () => {
  [ports.hono, ports.routes, ports.launch] = await Promise.all([freePort(), freePort(), freePort()]);
  launcher = Bun.spawn([process.execPath, join(ROOT, "examples/launch.ts"), "-b", `127.0.0.1:${ports.launch}`, "-w", "1"], {
    cwd: ELSEWHERE,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of launcher.stderr) launcherOut += dec.decode(chunk, { stream: true });
  })();
  [hono, routes] = await Promise.all([
    startBunicorn(["examples/hono.ts:app", "-w", "1", "-b", `127.0.0.1:${ports.hono}`]),
    startBunicorn(["examples/routes.ts", "-w", "1", "-b", `127.0.0.1:${ports.routes}`]),
  ]);
  await waitForHttp(`http://127.0.0.1:${ports.launch}/`, 15_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n--- launcher output ---\n${launcherOut}`);
  });
}, 30_000);

afterAll(async () => {
  for (const w of childPids(launcher.pid)) {
    try {
      process.kill(w, "SIGKILL");
    } catch {}
  }
  launcher.kill("SIGKILL");
  await killAll();
  rmSync(ELSEWHERE, { recursive: true, force: true });
});

const url = (name: keyof typeof ports, path: string) => `http://127.0.0.1:${ports[name]}${path}`;

test("examples/hono.ts:app: routes with params and a POST body", async () => {
  expect(await (await get(url("hono", "/"))).text()).toBe("Hello from Hono!");
  const user = (await (await get(url("hono", "/users/42"))).json()) as { id: string; pid: number };
  expect(user.id).toBe("42");
  expect(hono.workers()).toContain(user.pid);
  expect(await (await get(url("hono", "/echo"), { method: "POST", body: "ping" })).text()).toBe("ping");
});

test("examples/routes.ts: a static route, req.params, per-method handlers, fetch for the rest", async () => {
  const root = await get(url("routes", "/"));
  expect([root.status, await root.text()]).toEqual([200, "Hello from Bun routes!"]);
  expect(await (await get(url("routes", "/users/9"))).json()).toMatchObject({ id: "9", pid: routes.workers()[0] });
  expect(await (await get(url("routes", "/items"))).json()).toEqual([{ id: 1, name: "unicorn" }]);
  const created = await get(url("routes", "/items"), { method: "POST", body: JSON.stringify({ name: "pegasus" }), headers: { "content-type": "application/json" } });
  expect([created.status, await created.json()]).toEqual([201, { id: 2, name: "pegasus" }]);
  const missing = await get(url("routes", "/nope"));
  expect([missing.status, await missing.text()]).toEqual([404, "Not Found"]);
});

test("examples/launch.ts, started from another working directory: run() finds its app beside it and takes the command line", async () => {
  expect(await (await get(url("launch", "/"))).text()).toBe("Hello from Hono!");
  // -w 1 on the command line overrides the launcher's workers: 2.
  await waitFor("one worker", () => childPids(launcher.pid).length === 1);
  expect(launcherOut).toContain(`Listening at: http://127.0.0.1:${ports.launch}`);
  launcher.kill("SIGTERM");
  expect(await within(launcher.exited, 15_000, "the launcher to exit")).toBe(0);
});
