/**
 * @module
 * Elysia apps, served as Elysia's own `app.listen()` would serve them. Elysia wires its `.ws()`
 * routes in `listen()`: each WS route's handler calls `app.server.upgrade(req, {data})` with the
 * route's handlers in `data`, and the Bun.serve `websocket` handlers that `listen()` passes
 * (the `websocket` export of `elysia/ws`) dispatch to them. Under bunicorn nothing calls
 * `listen()` (each worker serves the app itself), so `app.server` stayed null and every `.ws()`
 * route answered 400. Here:
 *
 * - `app.server` is the server that passes the request (Bun.serve's in reuse-port mode, the
 *   engine's in shared-socket mode), set before Elysia sees the request: `.ws()` upgrades, and
 *   `app.server.publish()` works in handlers;
 * - the app's `websocket` handlers are `elysia/ws`'s dispatcher from the app's own copy of
 *   Elysia, under the app's `websocket` config, as `listen()` merges them;
 * - lazily loaded plugins (`app.modules`) are awaited before the worker serves.
 *
 * Detected by shape (an `~adapter` with `ws`, `getServer()`, `fetch`), so bunicorn needs no
 * dependency on Elysia.
 */
import { dirname } from "node:path";
import type { FetchApp } from "./load-app.ts";

interface ElysiaLike {
  fetch(req: Request): Response | Promise<Response>;
  server: unknown;
  getServer(): unknown;
  readonly routes?: readonly { method: string }[];
  readonly config?: { websocket?: Record<string, unknown> };
  readonly modules?: PromiseLike<unknown>;
  readonly "~adapter"?: { ws?: unknown };
}

/** True for an Elysia instance (by shape). */
export function isElysiaApp(value: unknown): value is ElysiaLike {
  if (value === null || typeof value !== "object") return false;
  const v = value as Partial<ElysiaLike>;
  return typeof v.fetch === "function" && typeof v.getServer === "function" && typeof v["~adapter"]?.ws === "function";
}

/** The `FetchApp` for an Elysia instance loaded from `file` (see the module comment). */
export async function elysiaApp(app: ElysiaLike, file: string): Promise<FetchApp> {
  if (app.modules !== undefined && typeof app.modules.then === "function") await app.modules;
  const served: FetchApp = {
    fetch(req, server) {
      if (app.server !== server) app.server = server;
      return app.fetch(req);
    },
  };
  if (app.routes?.some((r) => r.method === "WS")) served.websocket = { ...(app.config?.websocket ?? {}), ...(await elysiaDispatcher(file)) };
  return served;
}

/** `elysia/ws`'s `websocket` handlers, from the Elysia the app's module resolves. */
async function elysiaDispatcher(file: string): Promise<Record<string, unknown>> {
  for (const from of [dirname(file), process.cwd()]) {
    let path: string;
    try {
      path = Bun.resolveSync("elysia/ws", from);
    } catch {
      continue;
    }
    const mod = (await import(path)) as { websocket?: Record<string, unknown> };
    if (mod.websocket) return mod.websocket;
  }
  // The same dispatch, should the app's Elysia not be resolvable from its file: each socket's
  // handlers are in its `data`, put there by the route's upgrade.
  type Ws = { data: Record<string, ((...a: unknown[]) => unknown) | undefined> };
  return {
    open: (ws: Ws) => ws.data.open?.(ws),
    message: (ws: Ws, m: unknown) => ws.data.message?.(ws, m),
    drain: (ws: Ws) => ws.data.drain?.(ws),
    close: (ws: Ws, code: number, reason: string) => ws.data.close?.(ws, code, reason),
    ping: (ws: Ws) => ws.data.ping?.(ws),
    pong: (ws: Ws) => ws.data.pong?.(ws),
  };
}
