/**
 * How a plugin is tested: start the real server with the plugin (bunicorn's own command, from
 * the installed package), send a request, and read what the plugin wrote. Run it with
 * `bun test`. Every wait is bounded, and the server is stopped (TERM) at the end.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const CLI = join(dirname(Bun.resolveSync("bunicorn/package.json", import.meta.dir)), "cli/bunicorn.ts");
const LOGGER = `${import.meta.dir}/json-logger.ts#JsonLinesLogger`;
const dir = mkdtempSync(join(tmpdir(), "json-logger-test-"));
const accessLog = join(dir, "access.log");
let port = 0;
let server: ReturnType<typeof Bun.spawn>;

/** Polls `check` every 50 ms until it returns something truthy; throws after `ms`. */
async function until<T>(what: string, check: () => T | Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await Promise.resolve().then(check).catch(() => null);
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  writeFileSync(join(dir, "app.ts"), 'export default { fetch: () => new Response("hello") };\n');
  port = await freePort();
  server = Bun.spawn([process.execPath, CLI, "app.ts", "-w", "1", "-b", `127.0.0.1:${port}`, "--access-logfile", accessLog, "--logger-class", LOGGER], {
    cwd: dir,
    stdout: "ignore",
    stderr: "ignore",
  });
  await until("the server", async () => (await fetch(`http://127.0.0.1:${port}/`)).ok);
});

afterAll(async () => {
  server.kill("SIGTERM");
  await Promise.race([server.exited, Bun.sleep(10_000).then(() => server.kill("SIGKILL"))]);
  rmSync(dir, { recursive: true, force: true });
});

test("each access line is one JSON object with the request's fields", async () => {
  const res = await fetch(`http://127.0.0.1:${port}/hello?x=1`, { headers: { "user-agent": "plugin-test" } });
  expect(await res.text()).toBe("hello");
  const line = await until("the access line", () => readFileSync(accessLog, "utf8").split("\n").find((l) => l.includes("/hello?x=1")));
  expect(JSON.parse(line)).toEqual({
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    client: "127.0.0.1",
    method: "GET",
    target: "/hello?x=1",
    status: 200,
    bytes: 5,
    ms: expect.any(Number),
    agent: "plugin-test",
  });
});
