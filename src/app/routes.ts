/**
 * @module
 * An app's Bun `routes` (`export default { routes: {...}, fetch }`), compiled once when the app
 * loads, with Bun.serve 1.4.4's rules for the table itself:
 *
 * - keys are paths starting with `/`, ASCII only; a value `undefined` is skipped;
 * - a value is a handler `(req, server) => Response` (every method), an object of per-method
 *   values (`GET`, `POST`, ... : a handler or a static value; other keys are ignored, and a value
 *   that is neither is ignored too), a static `Response` (every method), a `Bun.file(path)` or a
 *   `Response` of one (a file route), or `false` (the request goes to `fetch`);
 * - parameter names (`:id`) may not start with a digit nor repeat in one path.
 *
 * A bad table fails the app's load with Bun's own message, in every mode. Static and file
 * routes become handlers here (src/app/static-route.ts), so that every request, whatever its
 * route, goes through the worker's `handle()` (hooks, limits, the access log), under Bun.serve
 * as in bunicorn's engine. Which route a request takes is decided by Bun.serve itself in
 * reuse-port mode ({@link AppRoutes.forBunServe}) and by src/http/router.ts in the engine.
 *
 * Not supported (the load fails, in every mode): HTML imports and directory routes
 * (`{ dir }`): they need Bun's bundler and its own static file server.
 */
import { AppLoadError } from "../errors.ts";
import { fileRoute, staticRoute } from "./static-route.ts";

/** The methods a route object may name, in the order Bun registers them. */
export const ROUTE_METHODS = ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"] as const;
export type RouteMethod = (typeof ROUTE_METHODS)[number];

/**
 * A route's handler, called like Bun calls it (`this` and the second argument are the server).
 * A file route's handler has `available`: false when its file cannot be served now, and the
 * request then goes on to the next route that matches, as under Bun.
 */
export type RouteHandler = ((req: Request, server: unknown) => Response | Promise<Response>) & { available?: () => boolean };

/** One key of the table: a handler for every method, per-method handlers, or `false`. */
export interface RouteKey {
  readonly path: string;
  readonly value: RouteHandler | Readonly<Partial<Record<RouteMethod, RouteHandler>>> | false;
}

/** What a route request goes to when no route takes it: the app's `fetch`, or a plain 404. */
export type Fallback = (req: Request, server: unknown) => Response | Promise<Response>;

/** How a route's handler is called: `(req, server)`, with `this` the server, as Bun calls it. */
export type RouteCall = (req: Request, server: unknown) => Response | Promise<Response>;

/** The compiled table. */
export class AppRoutes {
  /** The router (src/http/router.ts), loaded when a file route may have to pass a request on. */
  private routing: typeof import("../http/router.ts") | null = null;
  private router: import("../http/router.ts").Router | null = null;

  constructor(
    /** The keys in the table's order (the order Bun registers them in). */
    readonly keys: readonly RouteKey[],
    /** The app's `fetch`, or a plain 404 when the app has none. */
    readonly fallback: Fallback,
    /**
     * The app has `websocket` handlers. Bun.serve then routes a WebSocket handshake (a GET with a
     * 24-character `Sec-WebSocket-Key`) among the handlers for every method and for GET only,
     * the latest at a path first, `false` routes left out, and `fetch` for the rest.
     */
    readonly websocket = false,
  ) {}

  /** Some route is a file route (its handler has `available`). */
  get hasFileRoutes(): boolean {
    return this.keys.some((k) => k.value !== false && (typeof k.value === "function" ? k.value.available !== undefined : Object.values(k.value).some((h) => h?.available !== undefined)));
  }

  /** Loads what {@link forBunServe} needs for file routes. */
  async prepare(): Promise<void> {
    if (!this.hasFileRoutes || this.routing !== null) return;
    this.routing = await import("../http/router.ts");
    this.router = new this.routing.Router(this);
  }

  /**
   * The table for `Bun.serve({routes})`: every handler replaced by `wrap(call)`, where `call`
   * calls it as Bun would; `false` kept (Bun sends those requests to `fetch`). Bun.serve picks
   * the route; a file route whose file is missing passes the request on to the route that
   * bunicorn's router picks next (Bun's own file routes do that inside its router).
   */
  forBunServe<W>(wrap: (call: RouteCall) => W): Record<string, W | Partial<Record<RouteMethod, W>> | false> {
    const callOf = (h: RouteHandler): RouteCall => {
      const available = h.available;
      if (available === undefined) return (req, server) => h.call(server, req, server);
      return (req, server) => (available() ? h.call(server, req, server) : this.passOn(req, server));
    };
    const table: Record<string, W | Partial<Record<RouteMethod, W>> | false> = {};
    for (const { path, value } of this.keys) {
      if (value === false || typeof value === "function") table[path] = value === false ? false : wrap(callOf(value));
      else {
        const byMethod: Partial<Record<RouteMethod, W>> = {};
        for (const m of ROUTE_METHODS) {
          const h = value[m];
          if (h !== undefined) byMethod[m] = wrap(callOf(h));
        }
        table[path] = byMethod;
      }
    }
    return table;
  }

  /** The next route for a request whose file route cannot serve it (reuse-port mode). */
  private passOn(req: Request, server: unknown): Response | Promise<Response> {
    const m = this.router!.find(req.method, this.routing!.routePath(req));
    if (m.handler === null) return this.fallback(req, server);
    Object.defineProperty(req, "params", { value: m.params, configurable: true, enumerable: true, writable: true });
    return m.handler.call(server, req, server);
  }
}

const EXPECTS_RECORD =
  "'routes' expects a Record<string, Response | HTMLBundle | {[method: string]: (req: BunRequest) => Response|Promise<Response>}>";

/** Compiles a Bun `routes` object; throws `AppLoadError` with Bun's message for a bad one. */
export async function compileRoutes(routes: unknown, fallback: Fallback, websocket = false): Promise<AppRoutes> {
  if (routes === null || (typeof routes !== "object" && typeof routes !== "function")) {
    throw routeError("Bun.serve() expects 'routes' to be an object");
  }
  const keys: RouteKey[] = [];
  for (const path of Object.keys(routes)) {
    const value = (routes as Record<string, unknown>)[path];
    if (value === undefined || path === "") continue;
    if (path[0] !== "/") throw routeError(`Invalid route ${JSON.stringify(path)}. Path must start with '/'`);
    if (!/^[\x00-\x7f]*$/.test(path)) throw routeError(`Invalid route ${JSON.stringify(path)}. Please encode all non-ASCII characters in the path.`);
    if (value === false) {
      keys.push({ path, value: false });
      continue;
    }
    if (typeof value === "function") {
      checkParamNames(path);
      keys.push({ path, value: value as RouteHandler });
      continue;
    }
    if (typeof value === "object" && value !== null && !(value instanceof Response) && !(value instanceof Blob)) {
      const byMethod: Partial<Record<RouteMethod, RouteHandler>> = {};
      let found = false;
      for (const m of ROUTE_METHODS) {
        if (!Object.hasOwn(value, m)) continue;
        if (!found) checkParamNames(path);
        found = true;
        const v = (value as Record<string, unknown>)[m];
        const h = typeof v === "function" ? (v as RouteHandler) : await staticValue(path, v);
        if (h !== null) byMethod[m] = h;
      }
      if (found) {
        keys.push({ path, value: byMethod });
        continue;
      }
    }
    const h = await staticValue(path, value);
    if (h === null) throw routeError(EXPECTS_RECORD);
    keys.push({ path, value: h });
  }
  // A `/*` object that names some methods: Bun 1.4.4 gives `fetch` the other standard methods
  // there, but drops the connection, unanswered, for the other 26 it knows (PROPFIND, ...).
  // As one handler for every method, `/*` sends all of them to `fetch`, in every mode.
  const star = keys.findIndex((k) => k.path === "/*" && k.value !== false && typeof k.value !== "function");
  if (star >= 0) keys[star] = { path: "/*", value: byMethodHandler(keys[star]!.value as Partial<Record<RouteMethod, RouteHandler>>, fallback) };
  const compiled = new AppRoutes(keys, fallback, websocket);
  await compiled.prepare();
  return compiled;
}

/** One handler for a per-method object: its method's handler (`GET`'s for `HEAD`), else `fallback`. */
function byMethodHandler(byMethod: Partial<Record<RouteMethod, RouteHandler>>, fallback: Fallback): RouteHandler {
  return function (this: unknown, req, server) {
    const h = byMethod[req.method as RouteMethod] ?? (req.method === "HEAD" ? byMethod.GET : undefined);
    return h !== undefined ? h.call(this, req, server) : fallback(req, server);
  };
}

/** A static value (a Response, a Bun.file) as a handler; null when the value is not one. */
async function staticValue(path: string, value: unknown): Promise<RouteHandler | null> {
  if (value instanceof Response) {
    const body = responseBody(value);
    if (body === "used") throw routeError("Response body has already been used");
    if (body === "stream") {
      throw routeError("Body must be fully buffered before it can be used in a static route. Consider calling new Response(await response.blob()) to buffer the body.");
    }
    if (body === "file") return fileRoute((await value.clone().blob()) as Blob, value);
    return staticRoute(value);
  }
  if (value instanceof Blob) return isFile(value) ? fileRoute(value, null) : null;
  if (value !== null && typeof value === "object") {
    if ("dir" in value) {
      if (!path.endsWith("/*")) throw routeError("To mount a directory, make sure the path ends in `/*`");
      throw routeError(`Invalid route ${JSON.stringify(path)}: bunicorn does not serve directory routes ({ dir })`);
    }
    if ("index" in value) throw routeError(`Invalid route ${JSON.stringify(path)}: bunicorn does not serve HTML imports`);
  }
  return null;
}

/**
 * What a Response's body is, without reading it. Bun 1.4.4 shows this only in `Bun.inspect`
 * (see src/http/blob-body.ts): the body is the last entry after `bodyUsed`.
 */
function responseBody(res: Response): "used" | "none" | "bytes" | "file" | "stream" {
  if (res.bodyUsed) return "used";
  const s = Bun.inspect(res, { depth: 0 });
  const i = s.lastIndexOf("\n  bodyUsed: false");
  if (i < 0) return "stream";
  const rest = s.slice(i + 18);
  if (rest.startsWith("\n}")) return "none";
  if (rest.startsWith(",\n  Blob (")) return "bytes";
  if (rest.startsWith(",\n  FileRef (")) return "file";
  return "stream";
}

/** A Blob backed by a file (`Bun.file`), not bytes in memory. */
function isFile(blob: Blob): boolean {
  return Bun.inspect(blob, { depth: 0 }).startsWith("FileRef (");
}

/**
 * Bun's check of a path's parameter names: each name (after a `:`, up to the next `/`) may not
 * start with a digit nor appear twice.
 */
function checkParamNames(path: string): void {
  const seen = new Set<string>();
  let rest = path;
  for (let i = rest.indexOf(":"); i >= 0; i = rest.indexOf(":")) {
    rest = rest.slice(i + 1);
    const end = rest.indexOf("/");
    const name = end < 0 ? rest : rest.slice(0, end);
    if (name.length > 0 && name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) throw routeError("Route parameter names cannot start with a number.");
    if (seen.has(name)) throw routeError("Support for duplicate route parameter names is not yet implemented.");
    seen.add(name);
    rest = end < 0 ? "" : rest.slice(end);
  }
}

function routeError(message: string): AppLoadError {
  return new AppLoadError(`Invalid routes: ${message}`);
}
