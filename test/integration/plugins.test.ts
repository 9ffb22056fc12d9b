/**
 * Plugins by the Gunicorn rules: `egg:PACKAGE#NAME` through the package's package.json
 * (the first-party `plugins/logfmt` logger, installed into a temp project's node_modules),
 * `PATH#EXPORT` worker classes, and one clear error line for a reference that resolves to nothing.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, freePort, get, killAll, ROOT, startBunicorn, waitFor } from "../support/harness.ts";

afterEach(killAll);
afterAll(killAll);

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-egg-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(join(ROOT, "plugins/logfmt"), join(dir, "node_modules/bunicorn-logfmt"));
  copyFileSync(join(ROOT, "examples/hello.ts"), join(dir, "hello.ts"));
  return dir;
}

test("egg:bunicorn-logfmt#logfmt loads the logger through the package's bunicorn field", async () => {
  const dir = project();
  const access = join(dir, "access.log");
  const port = await freePort();
  const b = await startBunicorn(["hello.ts", "-b", `127.0.0.1:${port}`, "--access-logfile", access, "--logger-class", "egg:bunicorn-logfmt#logfmt"], { cwd: dir, workers: 1 });
  await get(`http://127.0.0.1:${port}/p?q=1`, { headers: { "user-agent": "ua x" } });
  await waitFor("a logfmt line", () => readFileSync(access, "utf8").includes("method=GET"));
  expect(await b.stop()).toBe(0);
  const line = readFileSync(access, "utf8").trim();
  expect(line).toMatch(/^time=\S+ remote_addr=127\.0\.0\.1 method=GET path=\/p query="q=1" status=200 bytes=\S+ duration_ms=[\d.]+ user_agent="ua x" pid=\d+$/);
});

test("a worker class by PATH#EXPORT", async () => {
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "-k", `${FIXTURES}/tagging-worker.ts#TaggingWorker`], { workers: 1 });
  const res = await get(`http://127.0.0.1:${port}/`);
  expect(res.headers.get("x-worker-class")).toBe("tagging");
  expect(await res.text()).toBe("Hello, World!");
  expect(b.output()).toContain("Using worker: ");
  expect(await b.stop()).toBe(0);
});

for (const [flag, ref, setting] of [
  ["-k", "egg:no-such-package#x", "worker_class"],
  ["-k", "./nope.ts#Nope", "worker_class"],
  ["--logger-class", "egg:bunicorn-logfmt#missing", "logger_class"],
] as const) {
  test(`${flag} ${ref}: one error line naming ${setting}, non-zero exit, no worker`, async () => {
    const dir = project();
    const port = await freePort();
    const b = await startBunicorn(["hello.ts", "-b", `127.0.0.1:${port}`, flag, ref], { cwd: dir, ready: null });
    expect(await b.proc.exited).toBe(1);
    const out = b.output().trim().split("\n");
    expect(out.length).toBe(1);
    expect(out[0]).toStartWith(`Error: ${setting}: class uri`);
    expect(b.output()).not.toContain("    at ");
  });
}
