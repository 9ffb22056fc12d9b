// The first minute, as a new user meets it (issue 12): --check-config catches what a start would
// refuse, a start fails with one Error: line (no Bun source excerpt, no stack), log lines from the
// arbiter and its workers come out in order, `--threads 3` says gthread, an app's syntax error
// shows Bun's message and location, --help fits a pipe and a terminal and lists only flags that
// work, --print-config shows the app, the pidfile ends with a newline, and --log-level debug logs
// the configuration as Gunicorn does. Real processes throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flagsOf } from "../../src/config/flags.ts";
import { parseCommandLine } from "../../src/config/cli-args.ts";
import { SETTINGS } from "../../src/config/registry.ts";
import { CLI, freePort, killAll, ROOT, startBunicorn, type Bunicorn } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-first-minute-"));
const HELLO = join(ROOT, "examples/hello.ts");
const UNWRITABLE = join(dir, "no-such-dir", "error.log");
// A syntax error on line 2, column 12.
const BROKEN = join(dir, "broken.ts");
writeFileSync(BROKEN, 'export default { fetch: () => new Response("x") };\nlet a = 1 +;\n');

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without anything that would change bunicorn's settings or its colours. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("BUNICORN_") || ["NO_COLOR", "COLUMNS", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID"].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `cmd` to its end (killed after `ms`: the exit code then fails the test). */
async function run(cmd: string[], env: Record<string, string> = {}, ms = 8000): Promise<Result> {
  const proc = Bun.spawn(cmd, { cwd: dir, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

const cli = (args: string[], env?: Record<string, string>, ms?: number) => run([process.execPath, CLI, ...args], env, ms);

/** One `Error: ...` line on stderr, nothing else (no source excerpt, no stack). */
function oneErrorLine(r: Result): string {
  const err = r.stderr.split("\n").filter((l) => l !== "");
  expect(err).toHaveLength(1);
  expect(err[0]).toStartWith("Error: ");
  return err[0]!;
}

describe("--check-config catches what a start refuses, and the start says it in one line", () => {
  const cases: Array<[what: string, args: string[], setting: string]> = [
    ["-k no-such-worker", ["-k", "no-such-worker"], "worker_class"],
    ["a logger class that cannot load", ["--logger-class", "./no-such-logger.ts#Logger"], "logger_class"],
    ["an unwritable --error-logfile", ["--error-logfile", UNWRITABLE], "errorlog"],
    ["an unwritable --access-logfile", ["--access-logfile", UNWRITABLE], "accesslog"],
  ];
  for (const [what, args, setting] of cases) {
    test(`${what}: --check-config exits 1 naming ${setting}; a start exits 1 with the same line`, async () => {
      const [check, start] = await Promise.all([cli([HELLO, "--check-config", ...args]), cli([HELLO, "-b", "127.0.0.1:0", ...args])]);
      expect(check.code).toBe(1);
      const line = oneErrorLine(check);
      expect(line).toStartWith(`Error: ${setting}: `);
      expect(start.code).toBe(1);
      expect(oneErrorLine(start)).toBe(line);
      expect(start.stdout).toBe("");
    });
  }

  test("--check-config creates no log file", async () => {
    const log = join(dir, "check-only.log");
    expect((await cli([HELLO, "--check-config", "--error-logfile", log])).code).toBe(0);
    expect(() => readFileSync(log)).toThrow();
  });
});

describe("an app's syntax error", () => {
  test("--check-config and the worker's log show Bun's message and its location; the arbiter's lines come first", async () => {
    const check = await cli([BROKEN, "--check-config"]);
    expect(check.code).toBe(1);
    expect(oneErrorLine(check)).toBe(`Error: Failed to import ${BROKEN}: Unexpected ; at ${BROKEN}:2:12`);

    const start = await cli([BROKEN, "-b", "127.0.0.1:0", "-w", "2"], {}, 15_000);
    expect(start.code).toBe(4);
    const log = start.stderr;
    expect(log).toContain(`[ERROR] Failed to import ${BROKEN}: Unexpected ; at ${BROKEN}:2:12`);
    expect(log).not.toContain("errors building");
    // In the order things happened: the arbiter starts, boots the workers, then they fail.
    const at = (s: string) => log.indexOf(s);
    expect(at("Starting bunicorn")).toBeGreaterThanOrEqual(0);
    expect(at("Starting bunicorn")).toBeLessThan(at("Booting worker with pid"));
    expect(at("Using worker: sync")).toBeLessThan(at("Booting worker with pid"));
    for (const m of log.matchAll(/\[(\d+)\] \[ERROR\] Failed to import/g)) {
      expect(at(`Booting worker with pid: ${m[1]}`)).toBeGreaterThanOrEqual(0);
      expect(at(`Booting worker with pid: ${m[1]}`)).toBeLessThan(m.index!);
    }
  });
});

describe("a running server: --threads 3, a pidfile, --log-level debug, TERM", () => {
  let b: Bunicorn;
  const pidfile = join(dir, "app.pid");
  beforeAll(async () => {
    b = await startBunicorn([HELLO, "-w", "2", "--threads", "3", "-b", `127.0.0.1:${await freePort()}`, "-p", pidfile, "--log-level", "debug"], { workers: 2, cwd: dir });
  });

  test("--threads 3 with the default class logs `Using worker: gthread`", () => {
    expect(b.output()).toMatch(/\[INFO\] Using worker: gthread \(reuse-port mode\)/);
  });

  test("the pidfile holds the pid and a final newline", () => {
    expect(readFileSync(pidfile, "utf8")).toBe(`${b.pid}\n`);
  });

  test("--log-level debug logs `Current configuration:` and every setting before `Starting bunicorn`", () => {
    const out = b.output();
    const start = out.indexOf("[DEBUG] Current configuration:");
    expect(start).toBeGreaterThanOrEqual(0);
    expect(start).toBeLessThan(out.indexOf("Starting bunicorn"));
    const block = out.slice(start).split("\n").slice(1);
    const settings = block.slice(0, block.findIndex((l) => !l.startsWith("  ")));
    expect(settings.length).toBe(SETTINGS.length);
    expect(settings).toContain("  workers: 2");
    expect(settings).toContain("  threads: 3");
    expect(settings).toContain(`  app: ${JSON.stringify(HELLO)}`);
    expect(settings).toContain(`  pidfile: ${JSON.stringify(pidfile)}`);
  });

  test("TERM: `Handling signal: term` comes before every `Worker exiting`", async () => {
    const workers = b.workers();
    expect(workers.length).toBe(2);
    expect(await b.stop()).toBe(0);
    const out = b.output();
    const term = out.indexOf("Handling signal: term");
    expect(term).toBeGreaterThan(0);
    for (const pid of workers) {
      const exiting = out.indexOf(`Worker exiting (pid: ${pid})`);
      expect(exiting).toBeGreaterThan(term);
    }
  });
});

describe("--help and --print-config", () => {
  test("--help into a pipe: no colour, lines of at most 80 characters; NO_COLOR in a terminal: none either", async () => {
    const piped = await cli(["--help"]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toContain("\x1b[");
    expect(Math.max(...piped.stdout.split("\n").map((l) => l.length))).toBeLessThanOrEqual(80);
    const noColor = await run(["script", "-qec", `stty cols 120; NO_COLOR=1 ${process.execPath} ${CLI} --help`, "/dev/null"]);
    expect(noColor.code).toBe(0);
    expect(noColor.stdout).not.toContain("\x1b[");
  });

  test("--help in a terminal: colours and the terminal's width", async () => {
    const r = await run(["script", "-qec", `stty cols 120; ${process.execPath} ${CLI} --help`, "/dev/null"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\x1b[36m-w, --workers INT\x1b[39m");
    const widths = r.stdout.replace(/\x1b\[[0-9;]*m/g, "").split(/\r?\n/).map((l) => l.length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(120);
    expect(Math.max(...widths)).toBeGreaterThan(80);
  });

  test("every flag --help lists is accepted; the Python-only ones are not listed", async () => {
    const out = (await cli(["--help"])).stdout;
    const listed = new Set([...out.matchAll(/(?:^|[\s,])(--?[a-z][a-z0-9_-]*)/gm)].map((m) => m[1]!).filter((f) => /^-[a-z]$|^--/.test(f)));
    expect(listed.size).toBeGreaterThan(80);
    for (const flag of listed) {
      if (flag === "-h" || flag === "--help" || flag === "-v" || flag === "--version") continue;
      expect(() => parseCommandLine([flag, "1"])).not.toThrow(/unrecognized/);
    }
    const pythonOnly = SETTINGS.filter((s) => s.support === "not-applicable").flatMap((s) => flagsOf(s)?.long ?? []);
    expect(pythonOnly).toEqual(expect.arrayContaining(["--spew", "--paste", "--pythonpath"]));
    for (const flag of pythonOnly) expect(listed.has(flag)).toBe(false);
  });

  test("--print-config shows the app given on the command line", async () => {
    const r = await cli(["examples/hello.ts", "--print-config"], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^app\s+= "examples\/hello\.ts"$/m);
    expect((await cli(["--print-config"])).stdout).toMatch(/^app\s+= null$/m);
  });
});
