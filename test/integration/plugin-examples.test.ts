/**
 * The plugin examples of docs/plugins.md, run as the doc says: classes named by value in a
 * config file (examples/plugins/plugins.config.ts; with gthread, each thread imports them
 * again), a plugin package by its egg: name
 * (examples/plugins/bunicorn-request-id, installed into a scratch project's node_modules) next to
 * a first-party plugin the project did not install (egg:bunicorn-logfmt, shipped in plugins/),
 * and a worker class written from the base class (examples/plugins/minimal-worker.ts) on a
 * reuse-port and a shared socket at once. Three bunicorns, started together. (The custom worker
 * over TLS in every mode: test/parity/plugin-worker.test.ts; the JSON logger's own test:
 * examples/plugins/json-logger.test.ts.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, get, killAll, ROOT, startBunicorn, waitFor, type Bunicorn } from "../support/harness.ts";

const PLUGINS = join(ROOT, "examples/plugins");
const dir = mkdtempSync(join(tmpdir(), "bunicorn-plugin-examples-"));
const sock = join(dir, "minimal.sock");
const ports = { config: 0, egg: 0, minimal: 0 };
let config: Bunicorn;
let egg: Bunicorn;
let minimal: Bunicorn;

beforeAll(async () => {
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(join(PLUGINS, "bunicorn-request-id"), join(dir, "node_modules/bunicorn-request-id"));
  copyFileSync(join(ROOT, "examples/hello.ts"), join(dir, "hello.ts"));
  [ports.config, ports.egg, ports.minimal] = await Promise.all([freePort(), freePort(), freePort()]);
  [config, egg, minimal] = await Promise.all([
    startBunicorn(["examples/hello.ts", "-b", `127.0.0.1:${ports.config}`, "-c", join(PLUGINS, "plugins.config.ts"), "--threads", "2", "--access-logfile", "-"], { workers: 1 }),
    startBunicorn(["hello.ts", "-b", `127.0.0.1:${ports.egg}`, "-k", "egg:bunicorn-request-id#request-id", "--logger-class", "egg:bunicorn-logfmt#logfmt", "--access-logfile", "-"], { cwd: dir, workers: 1 }),
    startBunicorn(["examples/hello.ts", "-b", `127.0.0.1:${ports.minimal}`, "-b", `unix:${sock}`, "-k", join(PLUGINS, "minimal-worker.ts#MinimalWorker"), "--access-logfile", "-", "--access-logformat", '%(s)s %(b)s "%(r)s"'], { workers: 1 }),
  ]);
}, 30_000);

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

test("plugins.config.ts: the worker and logger classes named by value in a config file reach the workers, and each gthread thread (--threads 2)", async () => {
  const res = await get(`http://127.0.0.1:${ports.config}/from-config`, { headers: { "user-agent": "t" } });
  expect(res.headers.get("x-worker")).toBe("stamping/1");
  expect(await res.text()).toBe("Hello, World!");
  const line = await waitFor("a JSON access line", () => config.output().match(/^\{.*"\/from-config".*\}$/m));
  expect(JSON.parse(line[0])).toMatchObject({ method: "GET", target: "/from-config", status: 200, bytes: 13, agent: "t" });
  expect(config.output().match(/StampingWorker 1 serving /g)).toHaveLength(2);
});

test("egg:bunicorn-request-id#request-id from the project's node_modules, egg:bunicorn-logfmt#logfmt from bunicorn's own plugins/", async () => {
  const given = await get(`http://127.0.0.1:${ports.egg}/`, { headers: { "x-request-id": "abc-123" } });
  expect(given.headers.get("x-request-id")).toBe("abc-123");
  const fresh = await get(`http://127.0.0.1:${ports.egg}/fresh`);
  expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
  expect(await fresh.text()).toBe("Hello, World!");
  await waitFor("a logfmt access line", () => / method=GET path=\/fresh query="" status=200 bytes=13 /.test(egg.output()));
});

test("minimal-worker.ts (from the base Worker): Bun.serve on its reuse-port listener, the engine on the shared socket, access lines with their bytes; TERM stops it", async () => {
  expect(await (await get(`http://127.0.0.1:${ports.minimal}/tcp`)).text()).toBe("Hello, World!");
  expect(await (await get("http://localhost/unix", { unix: sock })).text()).toBe("Hello, World!");
  await waitFor("two access lines", () => minimal.output().includes('"GET /unix HTTP/1.1"') && minimal.output().includes('"GET /tcp HTTP/1.1"'));
  expect(minimal.output()).toContain('200 13 "GET /tcp HTTP/1.1"');
  expect(minimal.output()).toContain('200 13 "GET /unix HTTP/1.1"');
  expect(minimal.output()).toMatch(/MinimalWorker listening on http:\/\/127\.0\.0\.1:\d+, unix:/);
  expect(await minimal.stop()).toBe(0);
});
