/**
 * @module
 * Resolves a worker or logger class reference (Gunicorn's `util.load_class`), in this order:
 *
 * 1. a class value passes straight through (config files may export the class itself);
 * 2. `egg:PACKAGE#NAME` (or `egg:PACKAGE`, meaning `#default`): the `"bunicorn"` field of that
 *    package's `package.json`, `{"workers": {"NAME": "./file.ts#Export"}, "loggers": {...}}`:
 *    the package as the project installed it, else the first-party plugin of that name shipped
 *    in bunicorn's `plugins/` (first-party.ts);
 * 3. a built-in name (`sync`, `process`, `gthread`; loggers: `default`, `statsd`);
 * 4. `PATH#EXPORT` or `PATH` (default export), a module path relative to the working directory,
 *    or a package specifier.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError, firstLine } from "../errors.ts";
import { firstPartyManifest, firstPartyNames } from "./first-party.ts";

export type PluginKind = "workers" | "loggers";

// `any`: constructors of any shape.
type AnyClass = abstract new (...args: any[]) => unknown;

const SETTING: Record<PluginKind, string> = { workers: "worker_class", loggers: "logger_class" };

/** Loads the class that `ref` names. `builtins` maps names to lazy loaders. */
export async function loadClass<T extends AnyClass>(
  ref: string | Function,
  kind: PluginKind,
  builtins: Record<string, () => Promise<T>>,
  cwd = process.cwd(),
): Promise<T> {
  const setting = SETTING[kind];
  if (typeof ref === "function") return ref as T;
  const text = ref.trim();
  const bad = (why: string): never => {
    throw new ConfigError(`${setting}: class uri ${JSON.stringify(text)} invalid or not found: ${why}`);
  };
  if (text.startsWith("egg:")) {
    const [pkg, name = "default"] = text.slice(4).split("#");
    if (!pkg) bad("expected egg:PACKAGE#NAME");
    let manifestPath: string;
    try {
      manifestPath = Bun.resolveSync(`${pkg}/package.json`, cwd);
    } catch {
      // Not installed in the project: a first-party plugin shipped inside bunicorn (first-party.ts).
      const shipped = firstPartyManifest(pkg!);
      if (shipped === null) {
        const known = firstPartyNames().map((p) => p.pkg);
        return bad(`package ${JSON.stringify(pkg)} is not installed${known.length ? ` (bunicorn ships ${known.join(", ")})` : ""}`);
      }
      manifestPath = shipped;
    }
    const manifest = (await Bun.file(manifestPath).json()) as { bunicorn?: Partial<Record<PluginKind, Record<string, string>>> };
    const entry = manifest.bunicorn?.[kind]?.[name!];
    if (!entry) return bad(`${pkg}'s package.json has no "bunicorn": {"${kind}": {"${name}": ...}} entry`);
    return importExport<T>(entry, dirname(manifestPath), bad);
  }
  const builtin = builtins[text.replace(/^#/, "")];
  if (builtin) return builtin();
  if (text.includes("#") || text.includes("/") || /\.[cm]?[jt]sx?$/.test(text)) return importExport<T>(text, cwd, bad);
  return bad(`not a built-in name (${Object.keys(builtins).join(", ")}), egg:PACKAGE#NAME or PATH#EXPORT`);
}

async function importExport<T>(entry: string, baseDir: string, bad: (why: string) => never): Promise<T> {
  const hash = entry.lastIndexOf("#");
  const path = hash < 0 ? entry : entry.slice(0, hash);
  const name = hash < 0 ? "default" : entry.slice(hash + 1);
  let file: string;
  if (isAbsolute(path) || path.startsWith(".")) {
    file = isAbsolute(path) ? path : resolve(baseDir, path);
    if (!existsSync(file)) {
      try {
        file = Bun.resolveSync(file, baseDir);
      } catch {
        return bad(`no such module ${file}`);
      }
    }
  } else {
    try {
      file = Bun.resolveSync(path, baseDir);
    } catch {
      file = resolve(baseDir, path);
      if (!existsSync(file)) return bad(`no such module ${JSON.stringify(path)}`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(Bun.pathToFileURL(file).href);
  } catch (e) {
    return bad(`cannot import ${file}: ${firstLine(e)}`);
  }
  const value = mod[name];
  if (typeof value !== "function") return bad(`${file} has no class export ${JSON.stringify(name)}`);
  return value as T;
}
