/**
 * @module
 * Loads the application named by `APP_MODULE`:
 *
 * - `path/to/module.ts` (the default export), `path/to/module.ts:name` (a named export);
 * - `pkg/module:name` and Gunicorn-style dotted `pkg.module:name` (resolved to a file);
 * - `module:factory(args)`, calling the export with literal arguments (`create_app("prod", 2)`);
 *   the factory may be async.
 *
 * The value is a fetch function `(req, server) => Response`, or an object with a `fetch` method
 * (`export default { fetch }`, Hono, Elysia), optionally with Bun `websocket` handlers and Bun
 * `routes` (then `fetch` is optional). An Elysia app gets its `.ws()` routes wired as its
 * `listen()` would (src/app/elysia.ts).
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { AppLoadError, firstLine } from "../errors.ts";
import type { AppRoutes } from "./routes.ts";

/** The app as bunicorn calls it. */
export interface FetchApp {
  fetch(request: Request, server: unknown): Response | Promise<Response>;
  /** Bun websocket handlers, passed to `Bun.serve` in reuse-port mode. */
  websocket?: unknown;
  /** Bun `routes`, compiled by src/app/routes.ts (then `fetch` is what no route takes). */
  routes?: AppRoutes;
}

export interface AppSpec {
  module: string;
  /** The export name; null means the default export. */
  name: string | null;
  /** Arguments when the export is called as a factory; null when not called. */
  args: unknown[] | null;
}

const EXTENSIONS = [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs", ".cjs"];

/** Splits `module[:name[(args)]]`. */
export function parseAppSpec(spec: string): AppSpec {
  const s = spec.trim();
  if (s === "") throw new AppLoadError("No application module specified.");
  // The export part follows the last ':' that is not inside parentheses.
  let split = -1;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === ":" && depth === 0) split = i;
  }
  const module = split < 0 ? s : s.slice(0, split);
  const target = split < 0 ? "" : s.slice(split + 1).trim();
  if (module === "") throw new AppLoadError(`Failed to parse ${JSON.stringify(spec)} as an application module.`);
  if (target === "") return { module, name: null, args: null };
  const m = /^([A-Za-z_$][\w$]*)(?:\s*\((.*)\))?$/s.exec(target);
  if (!m) throw new AppLoadError(`Failed to parse ${JSON.stringify(target)} as an attribute name or function call.`);
  const name = m[1]!;
  const args = m[2] === undefined ? null : parseLiteralArgs(m[2], target);
  return { module, name, args };
}

/** Parses a comma-separated list of literals: strings (' or "), numbers, true/false/null, JSON. */
export function parseLiteralArgs(src: string, whole = src): unknown[] {
  if (src.trim() === "") return [];
  // Turn single-quoted strings into JSON strings, leaving double-quoted ones alone, and Python's
  // True/False/None outside strings into JSON.
  let json = "";
  let plain = "";
  const flush = () => {
    json += plain.replace(/\bTrue\b/g, "true").replace(/\bFalse\b/g, "false").replace(/\bNone\b/g, "null");
    plain = "";
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '"') {
      const end = findClose(src, i, '"');
      flush();
      json += src.slice(i, end + 1);
      i = end;
    } else if (c === "'") {
      const end = findClose(src, i, "'");
      flush();
      json += JSON.stringify(src.slice(i + 1, end).replace(/\\'/g, "'"));
      i = end;
    } else plain += c;
  }
  flush();
  try {
    return JSON.parse(`[${json}]`);
  } catch {
    throw new AppLoadError(`Failed to parse arguments of ${JSON.stringify(whole)}: only literal values (strings, numbers, true, false, null, JSON) are allowed.`);
  }
}

function findClose(s: string, start: number, quote: string): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === quote) return i;
  }
  throw new AppLoadError(`Unterminated string in ${JSON.stringify(s)}.`);
}

/** Finds the file for a module spec: a path (with or without extension), a dotted name or a package. */
export function resolveAppModule(module: string, cwd: string): string {
  const candidates: string[] = [];
  const base = isAbsolute(module) ? module : resolve(cwd, module);
  candidates.push(base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => resolve(base, `index${e}`)));
  if (/^[\w$-]+(\.[\w$-]+)+$/.test(module) && !EXTENSIONS.some((e) => module.endsWith(e))) {
    const dotted = resolve(cwd, module.replace(/\./g, "/"));
    candidates.push(...EXTENSIONS.map((e) => dotted + e), ...EXTENSIONS.map((e) => resolve(dotted, `index${e}`)));
  }
  for (const c of candidates) {
    try {
      if (existsSync(c) && statSync(c).isFile()) return c;
    } catch {}
  }
  // A package name or a path through a package's exports.
  if (!module.startsWith(".") && !isAbsolute(module)) {
    try {
      return Bun.resolveSync(module, cwd);
    } catch {}
  }
  throw new AppLoadError(`No module named ${JSON.stringify(module)} (looked in ${cwd}).`);
}

/** Turns a loaded value into a `FetchApp`, or explains why it is not one. */
export function toFetchApp(value: unknown, what: string): FetchApp {
  if (typeof value === "function") {
    const fn = value as (req: Request, server: unknown) => Response | Promise<Response>;
    return { fetch: fn };
  }
  const hasFetch = value !== null && typeof value === "object" && typeof (value as { fetch?: unknown }).fetch === "function";
  if (hasFetch || routesOf(value) !== undefined) {
    const obj = value as FetchApp;
    // With routes and no fetch, what no route takes is a plain 404, as under Bun.serve.
    const app: FetchApp = { fetch: hasFetch ? (req, server) => obj.fetch(req, server) : () => new Response(null, { status: 404 }) };
    if (obj.websocket !== undefined) app.websocket = obj.websocket;
    return app;
  }
  const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
  throw new AppLoadError(`Application object ${what} is ${kind}, not a fetch function or an object with a fetch method or routes.`);
}

/**
 * An app object's Bun `routes` (or its older name `static`, when a plain object), as Bun.serve
 * reads them; an array (Hono and Elysia apps have a `routes` list) or a non-object is ignored.
 */
export function routesOf(value: unknown): object | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const routes = (value as { routes?: unknown }).routes;
  if (routes !== undefined && routes !== null) return typeof routes === "object" && !Array.isArray(routes) ? routes : undefined;
  const legacy = (value as { static?: unknown }).static;
  if (legacy === null || typeof legacy !== "object") return undefined;
  const proto = Object.getPrototypeOf(legacy);
  return proto === Object.prototype || proto === null ? legacy : undefined;
}

/** `toFetchApp`, with the app's Bun `routes` compiled (src/app/routes.ts, loaded only then). */
export async function toServedApp(value: unknown, what: string): Promise<FetchApp> {
  const app = toFetchApp(value, what);
  const routes = routesOf(value);
  if (routes !== undefined) app.routes = await (await import("./routes.ts")).compileRoutes(routes, app.fetch, app.websocket !== undefined);
  return app;
}

/** Loads `spec` relative to `cwd`. Throws `AppLoadError` with a one-line message. */
export async function loadApp(spec: string, cwd = process.cwd()): Promise<FetchApp> {
  const parsed = parseAppSpec(spec);
  const file = resolveAppModule(parsed.module, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(Bun.pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new AppLoadError(`Failed to import ${file}: ${firstLine(e)}`);
  }
  const exportName = parsed.name ?? "default";
  if (!(exportName in mod) || mod[exportName] === undefined) {
    if (parsed.name === null) {
      throw new AppLoadError(`${file} has no default export; name the app with ${parsed.module}:NAME.`);
    }
    throw new AppLoadError(`Failed to find attribute ${JSON.stringify(exportName)} in ${JSON.stringify(parsed.module)}.`);
  }
  let value: unknown = mod[exportName];
  const label = `${parsed.module}:${parsed.name ?? "default"}`;
  if (parsed.args !== null) {
    if (typeof value !== "function") throw new AppLoadError(`${label} is not callable, so it cannot be called as a factory.`);
    try {
      value = await (value as (...a: unknown[]) => unknown)(...parsed.args);
    } catch (e) {
      throw new AppLoadError(`Calling ${label}(...) failed: ${firstLine(e)}`);
    }
  }
  // Elysia wires its .ws() routes in app.listen(), which a worker never calls (src/app/elysia.ts).
  if (value !== null && typeof value === "object" && "~adapter" in value) {
    const elysia = await import("./elysia.ts");
    if (elysia.isElysiaApp(value)) return elysia.elysiaApp(value, file);
  }
  return toServedApp(value, JSON.stringify(label));
}
