/**
 * The package as npm users get it: `npm pack` of this tree, `npm install` of the tarball into a
 * scratch project in a temp dir, every command run with no Bun on `PATH` (only Node and npm). The
 * `bunicorn` bin (cli/launcher.js) must find the Bun the package depends on, pass signals and the
 * exit status through, stop the arbiter when npm's `sh -c` layer dies of a TERM sent to `npx`,
 * keep systemd's `LISTEN_PID` valid, and still run under `bunx`.
 *
 * The install needs the registry for `bun` and its platform package (`--prefer-offline`: npm's
 * cache answers when it holds them, as after this repo's own `npm install`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { Subprocess } from "bun";
import { openListenSocket } from "../../src/net/index.ts";
import { freePort, isAlive, ROOT, sleep, waitFor } from "../support/harness.ts";
import { within } from "../support/spawn-helpers.ts";

const APP = 'export default { fetch: () => new Response("hello from the scratch project\\n") };\n';

let tmp = "";
let project = "";
let tarball = "";
let env: Record<string, string> = {};
const started = new Set<Subprocess>();
const seenPids = new Set<number>();

/** PATH without any directory holding a `bun`; node and npm still found (linked into a dir of their own if they sat beside a bun). */
function pathWithoutBun(base: string): string {
  const all = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const kept = all.filter((d) => !existsSync(join(d, "bun")));
  const needed = ["node", "npm", "npx"].filter((cmd) => Bun.which(cmd, { PATH: kept.join(delimiter) }) === null);
  if (needed.length > 0) {
    const links = join(base, "node-bin");
    mkdirSync(links, { recursive: true });
    for (const cmd of needed) {
      const found = Bun.which(cmd, { PATH: all.join(delimiter) });
      if (found === null) throw new Error(`${cmd} is not on PATH`);
      symlinkSync(found, join(links, cmd));
    }
    kept.unshift(links);
  }
  return kept.join(delimiter);
}

/** This process's environment minus what would change bunicorn's settings or steer npm (the `npm test` run's npm_* variables). */
function scratchEnv(base: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("BUNICORN_") || k === "INIT_CWD") continue;
    if (/^npm_/i.test(k) && !/^npm_config_(cache|registry)$/i.test(k)) continue;
    if (["PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "SENDFILE", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"].includes(k)) continue;
    out[k] = v;
  }
  return { ...out, PATH: pathWithoutBun(base), NO_COLOR: "1" };
}

function which(cmd: string): string {
  const found = Bun.which(cmd, { PATH: env.PATH });
  if (found === null) throw new Error(`${cmd} not found on the scratch PATH`);
  return found;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`). */
async function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Result> {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd ?? project, env: opts.env ?? env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr };
}

interface Server {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
}

/** Starts a long-running command (stdout and stderr collected), remembered for cleanup. */
function start(cmd: string[], opts: { stdio3?: number; env?: Record<string, string>; ownGroup?: boolean } = {}): Server {
  const stdio: ["ignore", "pipe", "pipe", ...number[]] = ["ignore", "pipe", "pipe"];
  if (opts.stdio3 !== undefined) stdio.push(opts.stdio3);
  const proc = Bun.spawn(cmd, { cwd: project, env: opts.env ?? env, stdio, detached: opts.ownGroup ?? false }) as Subprocess<"ignore", "pipe", "pipe">;
  started.add(proc);
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return { proc, output: () => out };
}

/** Every live descendant of `pid` (children of all its threads, from /proc). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8");
    } catch {}
    for (const c of text.trim().split(/\s+/).filter(Boolean).map(Number)) out.push(c, ...descendants(c));
  }
  for (const p of out) seenPids.add(p);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

async function body(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
  return `${res.status} ${await res.text()}`;
}

async function waitServing(port: number, srv: Server): Promise<void> {
  await waitFor(`port ${port} to answer`, async () => (await body(port)) === "200 hello from the scratch project\n", 20_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n--- output ---\n${srv.output()}`);
  });
}

/** True once nothing accepts on 127.0.0.1:port. */
function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

/** The arbiter and worker processes below `pid`, checked to be there. */
function serverTree(pid: number, workers: number): { all: number[]; master: number; workers: number[] } {
  const all = descendants(pid);
  const masters = all.filter((p) => cmdline(p).startsWith("bunicorn: master"));
  const ws = all.filter((p) => cmdline(p).startsWith("bunicorn: worker"));
  expect(masters).toHaveLength(1);
  expect(ws).toHaveLength(workers);
  return { all, master: masters[0]!, workers: ws };
}

async function allGone(pids: number[]): Promise<void> {
  await waitFor(`${pids.join(", ")} to exit`, () => pids.every((p) => !isAlive(p)), 15_000);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunicorn-npm-"));
  env = scratchEnv(tmp);
  const pack = await run([which("npm"), "pack", ROOT, "--pack-destination", tmp, "--ignore-scripts", "--json"], { cwd: tmp, timeoutMs: 60_000 });
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  tarball = join(tmp, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
  project = join(tmp, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  writeFileSync(join(project, "app.ts"), APP);
  const install = await run([which("npm"), "install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { timeoutMs: 150_000 });
  if (install.code !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr}`);
}, 240_000);

afterAll(async () => {
  for (const p of started) {
    for (const d of descendants(p.pid)) seenPids.add(d);
    p.kill("SIGKILL");
  }
  for (const pid of seenPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  await Promise.all([...started].map((p) => within(p.exited, 5000, `pid ${p.pid} to exit`).catch(() => {})));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("installed from the npm tarball, no Bun on PATH", () => {
  test("npx bunicorn runs the CLI on the Bun the package brought", async () => {
    expect(Bun.which("bun", { PATH: env.PATH })).toBeNull();
    const pkg = JSON.parse(readFileSync(join(project, "node_modules/bunicorn/package.json"), "utf8"));
    expect(pkg.bin).toEqual({ bunicorn: "./cli/launcher.js" });
    expect(pkg.dependencies.bun).toBeDefined();
    const r = await run([which("npx"), "bunicorn", "--version"]);
    expect(r.stderr).not.toContain("No such file");
    expect(r.stdout).toBe(`bunicorn (version ${pkg.version})\n`);
    expect(r.code).toBe(0);
  }, 30_000);

  test("the exit status passes through npx: a bad flag is one Error: line and status 2", async () => {
    const r = await run([which("npx"), "bunicorn", "--no-such-flag", "app.ts"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^Error: .*--no-such-flag/)]);
  }, 30_000);

  test("TERM to the npx process stops the arbiter and its workers, and frees the port", async () => {
    const port = await freePort();
    const srv = start([which("npx"), "bunicorn", "app.ts", "-w", "2", "-b", `127.0.0.1:${port}`]);
    await waitServing(port, srv);
    // npx's own `sh -c` layer sits between npm and the launcher.
    const tree = await waitFor("the arbiter and 2 workers", () => {
      const all = descendants(srv.proc.pid);
      const ws = all.filter((p) => cmdline(p).startsWith("bunicorn: worker"));
      return ws.length === 2 ? all : null;
    });
    expect(tree.some((p) => /^(\/bin\/)?sh -c/.test(cmdline(p)))).toBe(true);
    expect(tree.filter((p) => cmdline(p).startsWith("bunicorn: master"))).toHaveLength(1);
    srv.proc.kill("SIGTERM");
    await within(srv.proc.exited, 15_000, "npx to exit");
    await waitFor(`port ${port} closed`, () => portClosed(port), 15_000);
    await allGone(tree);
    expect(srv.output()).toContain("Handling signal: term");
    expect(srv.output()).toContain("Shutting down: Master");
  }, 45_000);

  test("Ctrl-C (INT to the whole process group of npx) stops the server and frees the port", async () => {
    const port = await freePort();
    const srv = start([which("npx"), "bunicorn", "app.ts", "-w", "2", "-b", `127.0.0.1:${port}`], { ownGroup: true });
    await waitServing(port, srv);
    const tree = await waitFor("the arbiter and 2 workers", () => {
      const all = descendants(srv.proc.pid);
      return all.filter((p) => cmdline(p).startsWith("bunicorn: worker")).length === 2 ? all : null;
    });
    process.kill(-srv.proc.pid, "SIGINT");
    await within(srv.proc.exited, 15_000, "npx to exit");
    await waitFor(`port ${port} closed`, () => portClosed(port), 15_000);
    await allGone(tree);
    expect(srv.output()).toContain("Handling signal: int");
  }, 45_000);

  test("the bin passes the arbiter's signals on (TTIN adds a worker, TERM stops) and exits with its status", async () => {
    const port = await freePort();
    const srv = start([join(project, "node_modules/.bin/bunicorn"), "app.ts", "-w", "1", "-b", `127.0.0.1:${port}`]);
    await waitServing(port, srv);
    const before = serverTree(srv.proc.pid, 1);
    // The launcher's one child is the arbiter.
    expect(descendants(srv.proc.pid)[0]).toBe(before.master);
    srv.proc.kill("SIGTTIN");
    await waitFor("a second worker", () => descendants(before.master).filter((p) => cmdline(p).startsWith("bunicorn: worker")).length === 2, 15_000);
    const all = descendants(srv.proc.pid);
    srv.proc.kill("SIGTERM");
    expect(await within(srv.proc.exited, 15_000, "the launcher to exit")).toBe(0);
    expect(await portClosed(port)).toBe(true);
    await allGone(all);
    expect(srv.output()).toContain("Handling signal: ttin");
  }, 45_000);

  test("an arbiter killed by a signal: the bin dies of the same signal", async () => {
    const port = await freePort();
    const srv = start([join(project, "node_modules/.bin/bunicorn"), "app.ts", "-w", "1", "-b", `127.0.0.1:${port}`]);
    await waitServing(port, srv);
    const tree = serverTree(srv.proc.pid, 1);
    process.kill(tree.master, "SIGKILL");
    await within(srv.proc.exited, 15_000, "the launcher to exit");
    expect(srv.proc.signalCode).toBe("SIGKILL");
    await allGone(tree.all);
  }, 45_000);

  for (const how of ["systemd", "fd://3"] as const) {
    const title =
      how === "systemd"
        ? "systemd socket activation through the bin: the socket and a LISTEN_PID naming the bin reach the arbiter"
        : "a socket handed to the bin as fd 3 serves with -b fd://3";
    test(title, async () => {
      const port = await freePort();
      const fd = openListenSocket({ kind: "tcp", host: "127.0.0.1", port, family: 4 }, { backlog: 128 });
      const bin = join(project, "node_modules/.bin/bunicorn");
      let srv: Server;
      try {
        srv =
          how === "systemd"
            ? start(["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"', bin, "app.ts", "-w", "1"], { stdio3: fd })
            : start([bin, "app.ts", "-w", "1", "-b", "fd://3"], { stdio3: fd });
      } finally {
        closeSync(fd);
      }
      await waitServing(port, srv);
      const tree = serverTree(srv.proc.pid, 1);
      await waitFor("the Listening at: line", () => srv.output().includes(`Listening at: http://127.0.0.1:${port}`));
      expect(srv.output()).not.toContain("127.0.0.1:8000");
      srv.proc.kill("SIGTERM");
      expect(await within(srv.proc.exited, 15_000, "the launcher to exit")).toBe(0);
      await allGone(tree.all);
      await waitFor(`port ${port} closed`, () => portClosed(port), 5000);
    }, 45_000);
  }

  test("plugins from the installed copy: egg:bunicorn-logfmt#logfmt (shipped in bunicorn, not installed on its own) and a worker class extending bunicorn/worker", async () => {
    expect(existsSync(join(project, "node_modules/bunicorn-logfmt"))).toBe(false);
    writeFileSync(
      join(project, "stamp.ts"),
      'import { ProcessWorker } from "bunicorn/worker";\n' +
        "export class Stamp extends ProcessWorker {\n" +
        "  override async respond(req: Request, server: unknown, next: () => Response | Promise<Response>) {\n" +
        '    const res = await next();\n    res.headers.set("x-stamp", "yes");\n    return res;\n  }\n}\n',
    );
    const port = await freePort();
    const srv = start([which("npx"), "bunicorn", "app.ts", "-w", "1", "-b", `127.0.0.1:${port}`, "-k", "./stamp.ts#Stamp", "--access-logfile", "-", "--logger-class", "egg:bunicorn-logfmt#logfmt"]);
    await waitServing(port, srv);
    const res = await fetch(`http://127.0.0.1:${port}/p?q=1`, { signal: AbortSignal.timeout(3000) });
    expect(res.headers.get("x-stamp")).toBe("yes");
    expect(await res.text()).toBe("hello from the scratch project\n");
    const line = await waitFor("a logfmt access line", () => srv.output().match(/^time=\S+ remote_addr=127\.0\.0\.1 method=GET path=\/p query="q=1" status=200 bytes=31 .*$/m));
    expect(line[0]).toMatch(/ pid=\d+$/);
    srv.proc.kill("SIGTERM");
    await within(srv.proc.exited, 15_000, "npx to exit");
    await waitFor(`port ${port} closed`, () => portClosed(port), 15_000);
  }, 45_000);

  test("the Node-style worker from the installed copy: -k node and -k egg:bunicorn-node#node serve a (req, res) handler", async () => {
    expect(existsSync(join(project, "node_modules/bunicorn-node"))).toBe(false);
    writeFileSync(
      join(project, "node-app.js"),
      'export default function (req, res) {\n  res.writeHead(200, { "content-type": "text/plain" });\n  res.end(`node ${req.method} ${req.url}\\n`);\n}\n',
    );
    for (const k of ["node", "egg:bunicorn-node#node"]) {
      const port = await freePort();
      const srv = start([which("npx"), "bunicorn", "node-app.js", "-w", "1", "-b", `127.0.0.1:${port}`, "-k", k, "--access-logfile", "-"]);
      await waitFor(`port ${port} to answer`, async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) })).status === 200, 20_000).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- output ---\n${srv.output()}`);
      });
      const res = await fetch(`http://127.0.0.1:${port}/n?x=1`, { signal: AbortSignal.timeout(3000) });
      expect({ k, status: res.status, text: await res.text() }).toEqual({ k, status: 200, text: "node GET /n?x=1\n" });
      await waitFor("its access line", () => srv.output().match(/"GET \/n\?x=1 HTTP\/1\.1" 200 16 /));
      srv.proc.kill("SIGTERM");
      await within(srv.proc.exited, 15_000, "npx to exit");
      await waitFor(`port ${port} closed`, () => portClosed(port), 15_000);
    }
  }, 60_000);

  test("installed with --ignore-scripts (Bun's postinstall not run), the bin finds the platform package's binary", async () => {
    const other = join(tmp, "no-scripts");
    mkdirSync(other);
    writeFileSync(join(other, "package.json"), JSON.stringify({ name: "scratch-no-scripts", private: true }));
    const install = await run([which("npm"), "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: other, timeoutMs: 150_000 });
    expect(install.code).toBe(0);
    // The `bun` package's own bin is npm's placeholder, not a program.
    const placeholder = readFileSync(join(other, "node_modules/bun/bin/bun.exe"));
    expect(placeholder.subarray(0, 4).toString("latin1")).not.toBe("\x7fELF");
    const r = await run([which("npx"), "bunicorn", "--version"], { cwd: other });
    expect(r.stdout).toMatch(/^bunicorn \(version [^)]+\)\n$/);
    expect(r.code).toBe(0);
  }, 180_000);

  test("with no Bun at all: one Error: line, status 1", async () => {
    const lone = join(tmp, "lone");
    mkdirSync(lone);
    copyFileSync(join(project, "node_modules/bunicorn/cli/launcher.js"), join(lone, "launcher.mjs"));
    const r = await run([which("node"), join(lone, "launcher.mjs"), "--version"], { cwd: lone });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^Error: bunicorn needs Bun: .*PATH/)]);
  }, 30_000);
});

describe("bunx where Bun is installed", () => {
  /** This test's `bun`, in a directory put before the scratch PATH. */
  function withBun(): { bun: string; env: Record<string, string> } {
    const dir = join(tmp, "bun-bin");
    if (!existsSync(dir)) {
      mkdirSync(dir);
      symlinkSync(process.execPath, join(dir, "bun"));
    }
    return { bun: join(dir, "bun"), env: { ...env, PATH: `${dir}${delimiter}${env.PATH}` } };
  }

  for (const flag of [[], ["--bun"]]) {
    const how = flag.length === 0 ? "bunx bunicorn (the bin on Node, Bun from the package)" : "bunx --bun bunicorn (the CLI in the bin's own Bun process)";
    test(`${how} serves and stops on TERM`, async () => {
      const { bun, env: bunEnv } = withBun();
      const port = await freePort();
      const srv = start([bun, "x", ...flag, "bunicorn", "app.ts", "-w", "1", "-b", `127.0.0.1:${port}`], { env: bunEnv });
      await waitServing(port, srv);
      const tree = serverTree(srv.proc.pid, 1);
      if (flag.length > 0) expect(descendants(srv.proc.pid)[0]).toBe(tree.master);
      else expect(cmdline(descendants(srv.proc.pid)[0]!)).toMatch(/^node /);
      srv.proc.kill("SIGTERM");
      expect(await within(srv.proc.exited, 15_000, "bunx to exit")).toBe(0);
      await allGone(tree.all);
      expect(await portClosed(port)).toBe(true);
    }, 45_000);
  }
});
