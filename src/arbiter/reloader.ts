/**
 * @module
 * `--reload`: watches the app directory (recursively) and `reload_extra_files`, and calls back
 * on a change to a source file, debounced. `inotify`/`auto` use `fs.watch` (inotify on Linux);
 * `poll` uses `fs.watchFile` on the extra files and a recursive `fs.watch` fallback otherwise.
 * Extra files given as glob patterns are re-expanded on every check (`glob-watch.ts`).
 */
import { watch, watchFile, unwatchFile, type FSWatcher } from "node:fs";
import { resolve } from "node:path";
import type { Settings } from "../config/registry.ts";
import { isGlob, watchGlobs } from "./glob-watch.ts";

const SOURCE = /\.([cm]?[jt]sx?|json|toml)$/;
const IGNORED = /(^|\/)(node_modules|\.git)(\/|$)/;
/** How often glob patterns in `reload_extra_files` are expanded and their files checked. */
const GLOB_INTERVAL_MS = 500;

/** `warn` hears of a glob pattern that matches nothing at start. */
export function watchForReload(cfg: Settings, onChange: (file: string) => void, warn?: (msg: string) => void): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const fire = (file: string) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => onChange(file), 100);
  };
  const watchers: FSWatcher[] = [];
  const polled: string[] = [];
  try {
    watchers.push(
      watch(cfg.chdir, { recursive: true }, (_event, name) => {
        if (!name) return;
        const file = String(name);
        if (IGNORED.test(file) || !SOURCE.test(file)) return;
        fire(resolve(cfg.chdir, file));
      }),
    );
  } catch {}
  const patterns = cfg.reload_extra_files.filter(isGlob);
  const stopGlobs = patterns.length > 0 ? watchGlobs(patterns, cfg.chdir, GLOB_INTERVAL_MS, fire, warn) : null;
  for (const extra of cfg.reload_extra_files) {
    if (isGlob(extra)) continue;
    const path = resolve(cfg.chdir, extra);
    if (cfg.reload_engine === "poll") {
      watchFile(path, { interval: 500 }, () => fire(path));
      polled.push(path);
    } else {
      try {
        watchers.push(watch(path, () => fire(path)));
      } catch {
        watchFile(path, { interval: 500 }, () => fire(path));
        polled.push(path);
      }
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    stopGlobs?.();
    for (const w of watchers) w.close();
    for (const p of polled) unwatchFile(p);
  };
}
