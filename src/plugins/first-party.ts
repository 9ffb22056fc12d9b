/**
 * @module
 * The first-party plugins that ship inside the bunicorn package (`plugins/<dir>/`, each a real
 * package with its own `package.json` and `"bunicorn"` field: `bunicorn-logfmt`, ...). An
 * `egg:PACKAGE#NAME` whose package the project has not installed falls back to the plugin of
 * that package name shipped here, so `npm install bunicorn` is all a project needs for
 * `--logger-class egg:bunicorn-logfmt#logfmt`. A copy the project installed itself comes first
 * (src/plugins/load-class.ts), so a newer release of a plugin can still be pinned on its own.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** bunicorn's own `plugins/` folder (beside `src/` in the repo and in the installed package). */
export const FIRST_PARTY_DIR = new URL("../../plugins/", import.meta.url).pathname;

/** The `package.json` of the first-party plugin named `pkg`, or null when there is none. */
export function firstPartyManifest(pkg: string): string | null {
  for (const name of firstPartyNames()) if (name.pkg === pkg) return name.manifest;
  return null;
}

/** Every first-party plugin: its package name and the path of its `package.json`. */
export function firstPartyNames(): { pkg: string; manifest: string }[] {
  let dirs: string[];
  try {
    dirs = readdirSync(FIRST_PARTY_DIR);
  } catch {
    return [];
  }
  const out: { pkg: string; manifest: string }[] = [];
  for (const dir of dirs.sort()) {
    const manifest = join(FIRST_PARTY_DIR, dir, "package.json");
    if (!existsSync(manifest)) continue;
    try {
      const name = (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name;
      if (typeof name === "string") out.push({ pkg: name, manifest });
    } catch {}
  }
  return out;
}
