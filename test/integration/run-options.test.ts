/**
 * `run()` from a framework's launcher (test/fixtures/run-launcher.ts), started from another
 * working directory: an app object, or a worker class given as a class, is refused at `run()`
 * time with one `Error:` line saying why and what to pass; an app relative to the caller (`base: import.meta.url`) is found wherever the
 * launcher runs from, and one that is not there is one `Error:` line with the app-load status.
 * (The launcher serving from another directory is examples/launch.ts, in test/examples.test.ts.)
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, ROOT } from "../support/harness.ts";

const LAUNCHER = join(ROOT, "test/fixtures/run-launcher.ts");
const ELSEWHERE = mkdtempSync(join(tmpdir(), "bunicorn-run-cwd-"));
afterAll(() => rmSync(ELSEWHERE, { recursive: true, force: true }));

async function launch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, LAUNCHER, ...args], {
    cwd: ELSEWHERE,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 15_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

test("run({ app: <object> }): one Error: line at run() time (no worker started), status 1", async () => {
  const r = await launch("object", "-b", "127.0.0.1:1");
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr.trim().split("\n")).toEqual([
    'Error: run(): app is an object, not an APP_MODULE string: workers are separate processes that import the app themselves, and an object cannot be passed to another process; export the app from a module and pass its path, e.g. run({ app: "./server.ts:app", base: import.meta.url })',
  ]);
});

test("run({ settings: { worker_class: <a class> } }): one Error: line (workers import their class themselves), status 1", async () => {
  const r = await launch("class", "-b", "127.0.0.1:1");
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toEqual([
    'Error: worker_class: a class given to run() in code cannot reach the worker processes, which import their classes themselves; give it as PATH#EXPORT (e.g. new URL("./my-class.ts", import.meta.url).pathname + "#InCode"), egg:PACKAGE#NAME, or in a config file',
  ]);
});

test("run({ settings: { post_fork: <a function> } }): one Error: line (the hook runs in the workers), status 1; an arbiter hook as a function runs", async () => {
  const r = await launch("hook", "-b", "127.0.0.1:1");
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toEqual([
    'Error: post_fork: a function given to run() in code cannot reach the worker processes, where this hook runs; give it as PATH#EXPORT (e.g. new URL("./hooks.ts", import.meta.url).pathname + "#postFork") or put it in a config file (configFile)',
  ]);
  const ok = await launch("arbiter-hook", "-b", `127.0.0.1:${await freePort()}`);
  expect({ code: ok.code, out: ok.stdout }).toEqual({ code: 0, out: "when_ready ran in the caller's process\n" });
});

test("run({ app, base }) with a module that is not beside the caller: one Error: line naming where it looked, status 4", async () => {
  const r = await launch("./apps/missing.ts:app", "-b", "127.0.0.1:1");
  expect(r.code).toBe(4);
  expect(r.stderr.trim().split("\n")).toEqual([`Error: No module named "./apps/missing.ts" (looked in ${join(ROOT, "test/fixtures")}).`]);
});

test("run({ app, base }) from another working directory: the app beside the caller is checked and found (--check-config)", async () => {
  const r = await launch("./apps/named.ts:app", "--check-config");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
});
