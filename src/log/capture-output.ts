/**
 * @module
 * @internal `capture_output`: the app's stdout and stderr go to the error log file, as Gunicorn
 * does with `dup2`. The arbiter opens the file and hands it to each worker it spawns as fd 1 and
 * 2; on USR1 (logrotate moved the file) a worker opens the path again and `dup2`s the new file
 * onto 1 and 2, so the app's output follows the rotation without a restart (Gunicorn's
 * `reopen_files` does the same).
 */
import { closeSync, openSync } from "node:fs";
import type { Settings } from "../config/registry.ts";
import { check, requireLibc } from "../os/index.ts";

/** The file stdout and stderr are captured to, or null when `capture_output` is off or the error log is not a file. */
export function captureOutputPath(cfg: Pick<Settings, "capture_output" | "errorlog">): string | null {
  const target = cfg.errorlog;
  if (!cfg.capture_output || !target || target === "-" || target === "stderr" || target === "stdout") return null;
  return target;
}

/** Points fds 1 and 2 of this process at `path` (appending), opened anew. Throws on failure. */
export function recaptureOutput(path: string): void {
  const lib = requireLibc("capture_output");
  const fd = openSync(path, "a");
  try {
    check(lib.dup2(fd, 1), "dup2", path);
    check(lib.dup2(fd, 2), "dup2", path);
  } finally {
    closeSync(fd);
  }
}
