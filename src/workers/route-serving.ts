/**
 * @module
 * Serving an app's Bun `routes` with bunicorn's engine (shared-socket mode, and gthread threads
 * on it): the engine's `fetch` picks the route as Bun.serve would (src/http/router.ts), makes the
 * request a route request (`req.params`, `req.cookies`: src/http/route-request.ts) and runs the
 * route's handler through the worker's `handle()`, so that hooks, `worker_connections`, error
 * containment and the access log apply as to `fetch`. Loaded only for an app with routes.
 * (Reuse-port mode gives Bun.serve the table itself: src/workers/reuse-port-server.ts.)
 */
import type { AppRoutes, RouteCall, RouteHandler } from "../app/routes.ts";
import { asRouteRequest, withCookieChanges } from "../http/route-request.ts";
import { isUpgrade, Router, routePath } from "../http/router.ts";

/** `Worker.handle` with the handler to run (the app's `fetch` when none). */
export type ServeWith = (req: Request, server: unknown, handler?: RouteCall) => Response | Promise<Response>;

/** The engine's `fetch` for an app with routes. */
export function engineRouteFetch(routes: AppRoutes, serve: ServeWith): (req: Request, server: unknown) => Response | Promise<Response> {
  const router = new Router(routes);
  const calls = new Map<RouteHandler, RouteCall>();
  const callOf = (h: RouteHandler): RouteCall => {
    let call = calls.get(h);
    if (call === undefined) {
      call = (req, server) => withCookieChanges(req, h.call(server, req, server)) as Response | Promise<Response>;
      calls.set(h, call);
    }
    return call;
  };
  const websocket = routes.websocket;
  return (req, server) => {
    const m = router.find(req.method, routePath(req), websocket && isUpgrade(req));
    if (m.handler === null) return serve(req, server);
    asRouteRequest(req, m.params);
    return serve(req, server, callOf(m.handler));
  };
}
