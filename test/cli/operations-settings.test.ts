// metrics_bind, max_memory and drain_delay: their values, and one `Error:` line for a bad value
// or a metrics address already taken.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { getSetting } from "../../src/config/registry.ts";
import { ConfigError } from "../../src/config/setting.ts";

const ROOT = resolve(import.meta.dir, "../..");
const CLI = resolve(ROOT, "cli/bunicorn.ts");
const APP = resolve(ROOT, "test/parity/fixtures/metrics-app.ts");
const dir = mkdtempSync(join(tmpdir(), "bunicorn-ops-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(name: string, value: unknown): unknown {
  return getSetting(name)!.validate(value, name);
}

function refused(name: string, value: unknown): string {
  try {
    validate(name, value);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain(name);
    return (e as Error).message;
  }
  throw new Error(`${name}=${JSON.stringify(value)} was accepted`);
}

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("BUNICORN_")) env[k] = v;
  const proc = Bun.spawn([process.execPath, CLI, ...args], { cwd: ROOT, env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stderr };
}

describe("values", () => {
  test("max_memory: bytes, K/M/G suffixes (powers of 1024), 0 = off", () => {
    expect(validate("max_memory", "0")).toBe(0);
    expect(validate("max_memory", "1048576")).toBe(1048576);
    expect(validate("max_memory", "512M")).toBe(512 * 1024 ** 2);
    expect(validate("max_memory", "512mb")).toBe(512 * 1024 ** 2);
    expect(validate("max_memory", "64K")).toBe(64 * 1024);
    expect(validate("max_memory", "1.5G")).toBe(1.5 * 1024 ** 3);
    expect(validate("max_memory", 2048)).toBe(2048);
    for (const bad of ["", "abc", "12X", "-1", "1.5", "M", -5, 1.5, true]) refused("max_memory", bad);
  });

  test("metrics_bind: HOST:PORT, [v6]:PORT or unix:PATH; a TCP address needs its port", () => {
    expect(validate("metrics_bind", "127.0.0.1:9100")).toBe("127.0.0.1:9100");
    expect(validate("metrics_bind", "[::1]:9100")).toBe("[::1]:9100");
    expect(validate("metrics_bind", "localhost:9100")).toBe("localhost:9100");
    expect(validate("metrics_bind", "unix:/run/m.sock")).toBe("unix:/run/m.sock");
    expect(validate("metrics_bind", null)).toBeNull();
    expect(validate("metrics_bind", "")).toBeNull();
    for (const bad of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "fd://3", "http://x:1", "::1:9100"]) refused("metrics_bind", bad);
  });

  test("drain_delay: seconds >= 0", () => {
    expect(validate("drain_delay", "2.5")).toBe(2.5);
    expect(validate("drain_delay", 0)).toBe(0);
    for (const bad of ["-1", "soon"]) refused("drain_delay", bad);
  });
});

describe("the command", () => {
  test("a bad value is one Error: line naming the setting, exit 1", async () => {
    const cases: [string[], string][] = [
      [["--max-memory", "12X"], "max_memory"],
      [["--metrics-bind", "127.0.0.1"], "metrics_bind"],
      [["--drain-delay=-3"], "drain_delay"],
    ];
    const results = await Promise.all(cases.map(([args]) => cli([APP, ...args])));
    results.forEach((r, i) => {
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("Error: ");
      expect(lines[0]).toContain(cases[i]![1]);
      expect(r.code).toBe(1);
    });
  });

  test("a metrics address already taken is one Error: line, exit 1, and no worker starts", async () => {
    // development: false makes Bun 1.4.4 set SO_REUSEPORT (strace): the address must still be found taken.
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, development: false, fetch: () => new Response("taken") });
    const sock = join(dir, "live.sock");
    const live = Bun.serve({ unix: sock, fetch: () => new Response("taken") });
    const notSocket = join(dir, "plain-file");
    writeFileSync(notSocket, "x");
    try {
      const [tcp, unix, file] = await Promise.all([
        cli([APP, "-b", "127.0.0.1:0", "--metrics-bind", `127.0.0.1:${holder.port}`]),
        cli([APP, "-b", "127.0.0.1:0", "--metrics-bind", `unix:${sock}`]),
        cli([APP, "-b", "127.0.0.1:0", "--metrics-bind", `unix:${notSocket}`]),
      ]);
      for (const [r, text] of [
        [tcp, `Error: metrics_bind: Connection in use: 127.0.0.1:${holder.port}`],
        [unix, `Error: metrics_bind: ${sock} is in use`],
        [file, `Error: metrics_bind: ${notSocket} exists and is not a socket`],
      ] as const) {
        const errors = r.stderr.split("\n").filter((l) => l.startsWith("Error"));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toStartWith(text);
        expect(r.stderr).not.toContain("Booting worker");
        expect(r.code).toBe(1);
      }
    } finally {
      holder.stop(true);
      live.stop(true);
    }
  });
});
