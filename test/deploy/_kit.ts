/**
 * @module
 * @internal What the deploy-kit tests share (test/deploy/): the examples in examples/deploy/ read
 * as text and parsed (systemd units, a Dockerfile, YAML), a temp directory laid out as the
 * examples' `/srv/app` (the package installed in `node_modules`, the example app), and processes
 * run with their output collected. Every wait is bounded.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { childPids, ROOT, waitFor } from "../support/harness.ts";

export const DEPLOY = `${ROOT}/examples/deploy`;

/** The text of `examples/deploy/NAME`. */
export function example(name: string): string {
  return readFileSync(join(DEPLOY, name), "utf8");
}

/** A temp directory holding `srv/app` as the examples expect it, and `bin/bun`. */
export interface AppTree {
  /** The temp directory: `/` of the examples' paths. */
  root: string;
  /** `ROOT/srv/app`: the project, its `node_modules` and `app.ts`. */
  app: string;
  /** `PATH` for a process that runs `bun` by name (`ROOT/bin` first). */
  path: string;
  remove(): void;
}

/**
 * Lays out `/srv/app` under a new temp directory, as `npm install bunicorn` leaves a project:
 * `node_modules/bunicorn` (this repository), `node_modules/.bin/bunicorn` (its bin, the launcher)
 * and `node_modules/.bin/bun` (the `bun` package's binary), plus `app.ts` (examples/deploy/app.ts)
 * and `public/static.txt`. Readable by every user (containers run as uid 1000, nginx as www-data).
 */
export function appTree(): AppTree {
  const root = mkdtempSync(join(tmpdir(), "bunicorn-deploy-"));
  chmodSync(root, 0o755);
  const app = join(root, "srv/app");
  mkdirSync(join(app, "node_modules/.bin"), { recursive: true });
  mkdirSync(join(app, "public"));
  mkdirSync(join(root, "bin"));
  symlinkSync(ROOT, join(app, "node_modules/bunicorn"));
  symlinkSync("../bunicorn/cli/launcher.js", join(app, "node_modules/.bin/bunicorn"));
  symlinkSync(process.execPath, join(app, "node_modules/.bin/bun"));
  symlinkSync(process.execPath, join(root, "bin/bun"));
  copyFileSync(join(DEPLOY, "app.ts"), join(app, "app.ts"));
  writeFileSync(join(app, "public/static.txt"), "a static file, served by nginx\n");
  for (const d of ["srv", "srv/app", "srv/app/node_modules", "srv/app/node_modules/.bin", "srv/app/public", "bin"]) chmodSync(join(root, d), 0o755);
  chmodSync(join(app, "app.ts"), 0o644);
  chmodSync(join(app, "public/static.txt"), 0o644);
  return { root, app, path: `${join(root, "bin")}:/usr/local/bin:/usr/bin:/bin`, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A systemd unit file: section name to key to every value given (in order), comments dropped. */
export type Unit = Record<string, Record<string, string[]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | null = null;
  // A line ending in a backslash continues on the next one.
  for (const raw of text.replace(/\\\n/g, " ").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = unit[head[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (section === null || eq <= 0) throw new Error(`not a unit line: ${line}`);
    (section[line.slice(0, eq).trim()] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

/** One value of a unit's key (the last one given), or an error naming it. */
export function unitValue(unit: Unit, section: string, key: string): string {
  const v = unit[section]?.[key]?.at(-1);
  if (v === undefined) throw new Error(`[${section}] has no ${key}=`);
  return v;
}

/** A command line of a unit (`ExecStart=`): words split on blanks (the examples quote nothing). */
export function unitCommand(line: string): string[] {
  if (/["'\\]/.test(line)) throw new Error(`quoting is not handled here: ${line}`);
  return line.split(/\s+/).filter(Boolean);
}

/** A Dockerfile's instructions in order (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Array<{ instruction: string; args: string }> {
  const out: Array<{ instruction: string; args: string }> = [];
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  for (const line of lines.join("\n").replace(/\\\n/g, " ").split("\n")) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m) out.push({ instruction: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

/** The exec form (`["a", "b"]`) of an instruction's arguments; an error for the shell form. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** The value after `flag` in an argument list (`--flag VALUE` or `--flag=VALUE`). */
export function flagValue(args: readonly string[], flag: string): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag && i + 1 < args.length) return args[i + 1]!;
    if (args[i]!.startsWith(`${flag}=`)) return args[i]!.slice(flag.length + 1);
  }
  throw new Error(`no ${flag} in ${args.join(" ")}`);
}

/** `args` with each `HOST:PORT` value's port replaced by `ports[PORT]`. */
export function withPorts(args: readonly string[], ports: Record<number, number>): string[] {
  return args.map((a) => a.replace(/^((?:[\d.]+|\[[\d:a-f]+\]):)(\d+)$/, (all, host: string, port: string) => (ports[Number(port)] === undefined ? all : `${host}${ports[Number(port)]}`)));
}

/** Runs a command to its end (bounded): its exit status and its stdout and stderr together. */
export async function run(argv: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<{ code: number | null; out: string }> {
  const proc = Bun.spawn(argv, { cwd: opts.cwd, env: opts.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code: proc.signalCode === null ? code : null, out: out + err };
}

/** A long-running process with its output collected. */
export interface Running {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `sig` (default TERM) and waits for the exit (SIGKILL to it and its children after `timeoutMs`). */
  stop(sig?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** Starts `argv` with its output collected (and any extra fds given as fd 3, 4...). */
export function start(argv: string[], opts: { cwd: string; env: Record<string, string>; fds?: number[] }): Running {
  let out = "";
  const proc = Bun.spawn(argv, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe", ...(opts.fds ?? [])] }) as unknown as Subprocess<"ignore", "pipe", "pipe">;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) out += dec.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return {
    proc,
    output: () => out,
    waitForLog: (pattern, timeoutMs = 15_000) =>
      waitFor(`log line ${pattern}`, () => out.match(pattern), timeoutMs).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- output ---\n${out}`);
      }),
    async stop(sig = "SIGTERM", timeoutMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const family = [proc.pid, ...childPids(proc.pid), ...childPids(proc.pid).flatMap(childPids)];
      proc.kill(sig);
      const timer = setTimeout(() => {
        for (const pid of family) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
      }, timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return proc.signalCode === null ? code : null;
    },
  };
}
