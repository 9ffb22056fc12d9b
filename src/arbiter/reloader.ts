/**
 * @module
 * `--reload`: watches the app directory (recursively) and `reload_extra_files`, and calls back
 * on a change to a source file, debounced. `inotify`/`auto` use `fs.watch` (inotify on Linux);
 * `poll` uses `fs.watchFile` on the extra files and a recursive `fs.watch` fallback otherwise.
 */
import { watch, watchFile, unwatchFile, type FSWatcher } from "node:fs";
import { resolve } from "node:path";
import type { Settings } from "../config/registry.ts";

const SOURCE = /\.([cm]?[jt]sx?|json|toml)$/;
const IGNORED = /(^|\/)(node_modules|\.git)(\/|$)/;

export function watchForReload(cfg: Settings, onChange: (file: string) => void): () => void {
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
  for (const extra of cfg.reload_extra_files) {
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
    for (const w of watchers) w.close();
    for (const p of polled) unwatchFile(p);
  };
}
