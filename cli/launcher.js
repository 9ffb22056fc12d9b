#!/usr/bin/env node
/**
 * @module
 * The package's `bunicorn` bin: runs `cli/bunicorn.ts` on Bun from wherever the command is
 * started (`npx bunicorn`, `npm start`, `node_modules/.bin/bunicorn`, `bunx bunicorn`), so an npm
 * user needs no Bun of their own. Plain JavaScript for Node (any Node with npm 7+), no imports
 * of the package's TypeScript.
 *
 * - Under Bun already (`bunx --bun bunicorn`, `bun node_modules/.bin/bunicorn`): the command runs
 *   in this process, so its pid is the arbiter's.
 * - Under Node: Bun is the package's `bun` dependency (`bun/bin/bun.exe`, placed by its
 *   postinstall; without the postinstall, e.g. `--ignore-scripts` or a package manager that does
 *   not trust it, the binary of the `@oven/bun-*` package for this platform), else `bun` on `PATH`.
 *   Node 20 cannot exec in place, so Bun runs as this process's one child:
 *   - the arbiter's signals (HUP INT QUIT TERM USR1 USR2 TTIN TTOU WINCH) sent to this process
 *     are passed on to it;
 *   - its exit is this process's: the same status, or death by the same signal;
 *   - started by an npm script shell (`npx`, `npm exec`, `npm start`: `npm_lifecycle_event` is
 *     set), the arbiter gets TERM when that shell dies (npm passes INT and TERM to the `sh -c`
 *     it started, which dies of them without passing them on);
 *   - systemd socket activation and `fd://` binds keep working: the sockets this process was
 *     given are passed on at the same numbers, and a `LISTEN_PID` naming this process is set to
 *     the arbiter's pid (a `sh` that execs Bun).
 * If no Bun is found: one `Error:` line naming what was looked for, exit 1.
 */
import { spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("./bunicorn.ts", import.meta.url));
const SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGWINCH"];
const EXE = process.platform === "win32" ? "bun.exe" : "bun";

/** Whether `path` starts like an executable binary (ELF, Mach-O, PE), not the npm placeholder. */
function isBinary(path) {
  let fd;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(4);
    if (readSync(fd, head, 0, 4, 0) < 4) return false;
    const magic = head.readUInt32BE(0);
    return magic === 0x7f454c46 || magic === 0xcffaedfe || magic === 0xcefaedfe || magic === 0xfeedfacf || head.readUInt16BE(0) === 0x4d5a;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The sockets this process was given above stdio (systemd's `LISTEN_FDS`, `fd://N` binds), in
 * order. Node (20) holds inherited descriptors close-on-exec, so each is passed on by number.
 */
function inheritedSockets() {
  let names;
  try {
    names = readdirSync(process.platform === "linux" ? "/proc/self/fd" : "/dev/fd");
  } catch {
    return [];
  }
  const fds = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      if (fstatSync(fd).isSocket()) fds.push(fd);
    } catch {}
  }
  return fds.sort((a, b) => a - b);
}

/** The platform packages `bun` ships its binary in, this platform's first. */
function platformPackages() {
  const arch = process.arch === "arm64" ? "aarch64" : process.arch;
  const os = process.platform === "win32" ? "windows" : process.platform;
  const base = `@oven/bun-${os}-${arch}`;
  return [base, `${base}-musl`, `${base}-baseline`, `${base}-musl-baseline`, `${base}-android`];
}

/** The package's own Bun, or `bun` on `PATH`, or null. */
function findBun() {
  const require = createRequire(import.meta.url);
  let bunDir = null;
  try {
    bunDir = dirname(require.resolve("bun/package.json"));
  } catch {}
  if (bunDir !== null) {
    const placed = join(bunDir, "bin", "bun.exe");
    if (isBinary(placed)) return placed;
    const fromBun = createRequire(join(bunDir, "package.json"));
    for (const pkg of platformPackages()) {
      try {
        const exe = join(dirname(fromBun.resolve(`${pkg}/package.json`)), "bin", EXE);
        if (isBinary(exe)) return exe;
      } catch {}
    }
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && isBinary(join(dir, EXE))) return join(dir, EXE);
  }
  return null;
}

async function main() {
  if (process.versions.bun !== undefined) {
    await import(CLI);
    return;
  }
  const bun = findBun();
  if (bun === null) {
    process.stderr.write("Error: bunicorn needs Bun: neither the `bun` package it depends on (npm install without --ignore-scripts or --omit=optional) nor a `bun` on PATH was found\n");
    process.exit(1);
  }
  const args = process.argv.slice(2);
  const env = { ...process.env };
  const forSystemd = process.platform !== "win32" && env.LISTEN_PID === String(process.pid);
  const stdio = ["inherit", "inherit", "inherit"];
  for (const fd of inheritedSockets()) {
    while (stdio.length < fd) stdio.push("ignore");
    stdio[fd] = fd;
  }
  const child = forSystemd
    ? spawn("/bin/sh", ["-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"', bun, CLI, ...args], { stdio, env })
    : spawn(bun, [CLI, ...args], { stdio, env });
  const forward = (sig) => {
    try {
      child.kill(sig);
    } catch {}
  };
  for (const sig of SIGNALS) process.on(sig, forward);
  if (env.npm_lifecycle_event !== undefined) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      forward("SIGTERM");
    }, 200);
    watch.unref();
  }
  child.on("error", (e) => {
    process.stderr.write(`Error: cannot start Bun (${bun}): ${e.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    for (const sig of SIGNALS) process.removeAllListeners(sig);
    try {
      process.kill(process.pid, signal);
    } catch {}
    // Still alive (a signal that does not end this process): the status a shell gives.
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 100);
  });
}

await main();
