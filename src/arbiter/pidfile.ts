/**
 * @module
 * The pidfile (Gunicorn's `pidfile.py`): refuses to start over a live pid, replaces a stale one,
 * is renamed `.oldbin` while a USR2 child runs, and is removed at exit if it is still ours.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";

/** True when `pid` names a live process (EPERM means it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isFinite(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

export class Pidfile {
  constructor(public path: string) {}

  /** Writes our pid; fails when the file names another live process. */
  create(pid = process.pid, allowPid: number | null = null): void {
    const old = readPid(this.path);
    if (old !== null && old !== pid && old !== allowPid && processAlive(old)) {
      throw new ConfigError(`pidfile: already running on PID ${old} (or pid file '${this.path}' is stale)`);
    }
    try {
      writeFileSync(this.path, `${pid}\n`);
    } catch (e) {
      throw new ConfigError(`pidfile: cannot write ${this.path}: ${(e as Error).message}`);
    }
  }

  /** Renames the file (`.oldbin` during USR2) and keeps track of the new name. */
  rename(path: string): void {
    try {
      renameSync(this.path, path);
      this.path = path;
    } catch {}
  }

  /** Removes the file if it still holds our pid. */
  unlink(pid = process.pid): void {
    if (readPid(this.path) !== pid) return;
    try {
      unlinkSync(this.path);
    } catch {}
  }
}
