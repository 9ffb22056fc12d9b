/**
 * @module
 * @internal `reload_extra_files` entries that are glob patterns (with `*`, `?` or `[`; `**`
 * recurses, `*` skips dotfiles), as Gunicorn 26.1 takes them: re-expanded on every check, so a
 * file created after start is watched from the next check on, and a change to it (a new mtime or
 * size) reloads. A file seen for the first time is only remembered, not a change (as Gunicorn's
 * poll reloader). Polled, whatever `reload_engine` says: inotify cannot watch what does not exist
 * yet.
 */
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";

/** A `reload_extra_files` entry that is a pattern rather than a path (Gunicorn's `glob.has_magic`). */
export function isGlob(entry: string): boolean {
  return /[*?[]/.test(entry);
}

/** `/srv/app/templates/**\/*.html` → `["/srv/app/templates", "**\/*.html"]`: the fixed directory to scan and the pattern under it. */
function splitPattern(pattern: string, cwd: string): [base: string, rest: string] {
  const parts = pattern.split("/");
  const first = parts.findIndex(isGlob);
  const prefix = parts.slice(0, first).join("/");
  const base = isAbsolute(pattern) ? prefix || "/" : resolve(cwd, prefix);
  return [base, parts.slice(first).join("/")];
}

/** The files `pattern` matches now (absolute paths). */
export function expandGlob(pattern: string, cwd: string): string[] {
  const [base, rest] = splitPattern(pattern, cwd);
  try {
    return [...new Bun.Glob(rest).scanSync({ cwd: base, absolute: true, onlyFiles: true, dot: false })];
  } catch {
    return []; // the base directory does not exist (yet)
  }
}

/**
 * Checks `patterns` every `intervalMs` and calls `onChange(file)` for a matched file whose mtime
 * or size changed since the last check. `warn` hears of a pattern that matches nothing at start
 * (a typo, or files still to come). Returns the function that stops it.
 */
export function watchGlobs(patterns: readonly string[], cwd: string, intervalMs: number, onChange: (file: string) => void, warn?: (msg: string) => void): () => void {
  const seen = new Map<string, string>();
  const check = (initial: boolean) => {
    const now = new Set<string>();
    for (const pattern of patterns) {
      const files = expandGlob(pattern, cwd);
      if (initial && files.length === 0) warn?.(`reload_extra_files: ${JSON.stringify(pattern)} matches no file yet`);
      for (const file of files) {
        if (now.has(file)) continue;
        now.add(file);
        const st = statSync(file, { throwIfNoEntry: false });
        if (!st) continue;
        const stamp = `${st.mtimeMs}:${st.size}`;
        const before = seen.get(file);
        seen.set(file, stamp);
        if (before !== undefined && before !== stamp) onChange(file);
      }
    }
    for (const file of seen.keys()) if (!now.has(file)) seen.delete(file);
  };
  check(true);
  const timer = setInterval(() => check(false), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
