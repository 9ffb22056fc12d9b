/**
 * @module
 * What makes a Request of bunicorn's engine a route request, as Bun.serve's are (a
 * `BunRequest`): `req.params`, and `req.cookies`, a `Bun.CookieMap` of the `Cookie` header whose
 * changes (`set`, `delete`) become `Set-Cookie` headers of the route's response, after the
 * response's own. Requests that no route takes (the app's `fetch`) have neither, as under Bun.
 */

const cookieMaps = new WeakMap<Request, Bun.CookieMap>();

function cookiesOf(this: Request): Bun.CookieMap {
  let map = cookieMaps.get(this);
  if (map === undefined) {
    map = new Bun.CookieMap(this.headers.get("cookie") ?? "");
    cookieMaps.set(this, map);
  }
  return map;
}

/** Gives `req` its `params` and a lazily built `cookies`. */
export function asRouteRequest(req: Request, params: Record<string, string> | null): void {
  (req as Request & { params: unknown }).params = params;
  Object.defineProperty(req, "cookies", { get: cookiesOf, configurable: true });
}

/** `res` with the `Set-Cookie` headers of the changes the handler made to `req.cookies`. */
export function withCookieChanges(req: Request, res: unknown): unknown {
  if (res instanceof Response) return applyCookies(req, res);
  if (res !== null && typeof res === "object" && typeof (res as Promise<unknown>).then === "function") {
    return (res as Promise<unknown>).then((r) => (r instanceof Response ? applyCookies(req, r) : r));
  }
  return res;
}

function applyCookies(req: Request, res: Response): Response {
  const map = cookieMaps.get(req);
  if (map === undefined) return res;
  const changes = map.toSetCookieHeaders();
  if (changes.length === 0) return res;
  let out = res;
  try {
    for (const c of changes) out.headers.append("set-cookie", c);
  } catch {
    // Immutable headers (a Response from fetch()): the same response with headers of its own.
    out = new Response(res.body, res);
    for (const c of changes) out.headers.append("set-cookie", c);
  }
  return out;
}
