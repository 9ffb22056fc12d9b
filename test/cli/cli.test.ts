import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { flagsOf } from "../../src/config/flags.ts";
import { SETTINGS } from "../../src/config/registry.ts";
import { addressList } from "../../src/config/validators.ts";

const ROOT = resolve(import.meta.dir, "../..");
const CLI = resolve(ROOT, "cli/bunicorn.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-cli-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The environment without anything that would change bunicorn's settings. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(process.env)) {
    if (val === undefined || k.startsWith("BUNICORN_")) continue;
    if (["PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "SENDFILE", "LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET"].includes(k)) continue;
    env[k] = val;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI; kills it after `ms` (a test that hits this fails on the exit code). */
async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; ms?: number } = {}): Promise<Result> {
  const proc = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: cleanEnv(opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.ms ?? 5000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function lines(s: string): string[] {
  return s.split("\n").filter((l) => l !== "");
}

// biome-ignore lint: ANSI escapes
const ANSI = /\x1b\[[0-9;]*m/g;

/** One `Error: ...` line on stderr and no stack trace. */
function expectOneErrorLine(r: Result): string {
  const err = lines(r.stderr);
  expect(err).toHaveLength(1);
  expect(err[0]).toStartWith("Error: ");
  expect(r.stderr).not.toContain("    at ");
  return err[0]!;
}

describe("bunicorn CLI", () => {
  test("--version and -v print `bunicorn (version X)` and exit 0", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await cli([flag]);
      expect(r.stdout).toBe(`bunicorn (version ${pkg.version})\n`);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
  });

  test("-h lists the registry's flags", async () => {
    const r = await cli(["-h"]);
    expect(r.code).toBe(0);
    const out = r.stdout.replace(ANSI, "");
    for (const flag of ["--workers", "-w", "--bind", "--config", "--print-config", "--check-config", "--no-reuse-port", "--preload", "--version", "APP_MODULE"]) {
      expect(out).toContain(flag);
    }
    // Every flag is shown with its own dashes: long alternates are not rendered as `-log-file`.
    expect(out).toMatch(/(^|\s)--log-file\b/m);
    expect(out).not.toMatch(/(^|\s)-[a-z]{2,}/m);
    // Every flag bunicorn honours is listed; Python-only ones (an error when set) are not.
    for (const s of SETTINGS) {
      for (const f of [...(s.cli ?? []), ...(s.cliNegative ?? [])]) {
        if (s.support === "not-applicable") expect(out).not.toMatch(new RegExp(`(^|\\s)${f}\\b`, "m"));
        else expect(out).toContain(f);
      }
    }
  });

  test("--print-config prints every setting, one line each, with the effective value", async () => {
    const r = await cli(["--print-config", "-w", "3", "-b", "127.0.0.1:9999"], { cwd: tmp() });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const out = lines(r.stdout);
    expect(out).toHaveLength(SETTINGS.length);
    expect(out.map((l) => l.split(" = ")[0]!.trim())).toEqual(SETTINGS.map((s) => s.name));
    expect(out).toContainEqual(expect.stringMatching(/^workers\s+= 3$/));
    expect(out).toContainEqual(expect.stringMatching(/^bind\s+= \["127\.0\.0\.1:9999"\]$/));
    expect(out).toContainEqual(expect.stringMatching(/^timeout\s+= 30$/));
    // Every line has the `=` in the same column.
    expect(new Set(out.map((l) => l.indexOf(" = "))).size).toBe(1);
  });

  test("--print-config reads the config file and the environment", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const timeout = 12;\nexport function on_starting(server: unknown) {}\n" });
    const r = await cli(["--print-config"], { cwd, env: { BUNICORN_WORKERS: "4", PORT: "7001" } });
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toContainEqual(expect.stringMatching(/^timeout\s+= 12$/));
    expect(out).toContainEqual(expect.stringMatching(/^workers\s+= 4$/));
    expect(out).toContainEqual(expect.stringMatching(/^bind\s+= \["0\.0\.0\.0:7001"\]$/));
    expect(out).toContainEqual(expect.stringMatching(/^on_starting\s+= <function on_starting>$/));
    expect(out).toContainEqual(expect.stringMatching(/^config\s+= ".*bunicorn\.config\.ts"$/));
  });

  test("--check-config with a good app exits 0", async () => {
    const r = await cli(["--check-config", "examples/hello.ts"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("--check-config with a missing app exits 1 with one line", async () => {
    const r = await cli(["--check-config", "does-not-exist.ts"]);
    expect(r.code).toBe(1);
    expect(expectOneErrorLine(r)).toContain("does-not-exist.ts");
  });

  test("--check-config with an app that is not an app exits 1 with one line", async () => {
    const r = await cli(["--check-config", "test/fixtures/apps/named.ts:notAnApp"]);
    expect(r.code).toBe(1);
    expect(expectOneErrorLine(r)).toContain("notAnApp");
  });

  test("a bad flag exits 2 with one Error: line", async () => {
    const r = await cli(["--wrkers", "2", "examples/hello.ts"]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain("--wrkers");
    expect(r.stdout).toBe("");
  });

  test("a bad flag in BUNICORN_CMD_ARGS exits 2 with one line", async () => {
    const r = await cli(["examples/hello.ts"], { env: { BUNICORN_CMD_ARGS: "--wrkers 2" } });
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain("BUNICORN_CMD_ARGS");
  });

  test("--workers abc fails with one line naming workers", async () => {
    const r = await cli(["--workers", "abc", "examples/hello.ts"]);
    expect(r.code).not.toBe(0);
    expect(expectOneErrorLine(r)).toContain("workers");
  });

  test("a malformed IP in any IP-list setting is refused at config time: one line naming the setting, exit 1", async () => {
    const ipSettings = SETTINGS.filter((s) => s.validate === addressList);
    expect(ipSettings.map((s) => s.name).sort()).toEqual(["forwarded_allow_ips", "proxy_allow_ips"]);
    for (const s of ipSettings) {
      const flag = flagsOf(s)!.long[0]!;
      for (const bad of [":1::", "1:::2", "::1:", "10.0.0.0/33", "localhost"]) {
        const r = await cli(["--check-config", flag, `127.0.0.1,${bad}`, "examples/hello.ts"]);
        expect(r.code).toBe(1);
        const line = expectOneErrorLine(r);
        expect(line).toContain(s.name);
        expect(line).toContain(JSON.stringify(bad));
      }
      const fromEnv = await cli(["--check-config", "examples/hello.ts"], { env: { [`BUNICORN_${s.name.toUpperCase()}`]: ":1::" } });
      expect(fromEnv.code).toBe(1);
      expect(expectOneErrorLine(fromEnv)).toContain(s.name);
    }
  });

  test("--proxy-allow-from ':1::' stops the server before any worker boots", async () => {
    const r = await cli(["--proxy-protocol", "--proxy-allow-from", ":1::", "-b", "127.0.0.1:0", "examples/hello.ts"], { ms: 8000 });
    expect(r.code).toBe(1);
    expect(expectOneErrorLine(r)).toContain("proxy_allow_ips");
    expect(r.stdout).toBe("");
  });

  test("a broken config file fails with one line naming the file", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const wokers = 2;\n" });
    const r = await cli(["--check-config", resolve(ROOT, "examples/hello.ts")], { cwd });
    expect(r.code).toBe(1);
    const line = expectOneErrorLine(r);
    expect(line).toContain("bunicorn.config.ts");
    expect(line).toContain('did you mean "workers"?');
  });

  test("no APP_MODULE exits 2", async () => {
    const r = await cli([], { cwd: tmp() });
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe("Error: No application module specified.");
  });

  test("a missing app with --preload exits 4 with one line, before any worker starts", async () => {
    const r = await cli(["nope.ts", "--preload", "-b", "127.0.0.1:0"], { cwd: tmp(), ms: 8000 });
    expect(r.code).toBe(4);
    expect(expectOneErrorLine(r)).toContain("nope.ts");
  });

  test("an app that throws on import with --preload exits 4 with one line", async () => {
    const r = await cli(["test/fixtures/apps/throws-on-import.ts", "--preload", "-b", "127.0.0.1:0"], { ms: 8000 });
    expect(r.code).toBe(4);
    expect(expectOneErrorLine(r)).toContain("import-time failure");
  });
});
