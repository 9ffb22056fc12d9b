/**
 * @module
 * What an app behind a trusted proxy asks bunicorn (`import { clientAddress, scriptName } from
 * "bunicorn/forwarded"`): the client's address from `X-Forwarded-For` and the path the app is
 * mounted at (WSGI's `SCRIPT_NAME`), believed only from a trusted forwarder
 * (`forwarded_allow_ips`; a unix-socket peer always is). The scheme needs no helper: `req.url`
 * already starts with `https:` when a trusted proxy says so (`secure_scheme_headers`).
 *
 * `server.requestIP(req)` and the access log's `%(h)s` stay the peer, the proxy: that is what
 * Bun.serve gives and what Gunicorn's `REMOTE_ADDR` has been since Gunicorn 19 (RFC 3875). Log the
 * client with `%({x-forwarded-for}i)s`, as Gunicorn's deploy docs say.
 *
 * Both helpers take the `server` the app's `fetch` got; under anything but a bunicorn worker they
 * trust nobody (the peer's address, `SCRIPT_NAME` from the environment). Small, with one import:
 * cheap to load in an app.
 */
import { forwardingViewOf } from "./http/forwarding.ts";

interface HasRequestIP {
  requestIP?(req: Request): { address: string } | null;
}

/**
 * The client's address. From a trusted forwarder with `X-Forwarded-For`: the rightmost entry that
 * is not itself in `forwarded_allow_ips` (the address the last trusted proxy saw, skipping
 * trusted proxies in a chain; the leftmost when all are, e.g. with `*`), as uvicorn's and
 * Starlette's proxy-header handling do. Otherwise the peer's address (`server.requestIP(req)`),
 * null on a unix socket.
 */
export function clientAddress(req: Request, server: unknown): string | null {
  const peer = (server as HasRequestIP | null)?.requestIP?.(req)?.address ?? null;
  const view = forwardingViewOf(server);
  if (view === null || !view.trusted(req)) return peer;
  const xff = req.headers.get("x-forwarded-for");
  if (xff === null) return peer;
  const parts = xff.split(",");
  let leftmost: string | null = null;
  for (let i = parts.length - 1; i >= 0; i--) {
    const a = parts[i]!.trim();
    if (a === "") continue;
    if (!view.policy.allows(a)) return a;
    leftmost = a;
  }
  return leftmost ?? peer;
}

/**
 * The path the app is mounted at (WSGI's `SCRIPT_NAME`, ASGI's `root_path`), e.g. `/app`: a
 * trusted forwarder's `SCRIPT_NAME` header (when `SCRIPT_NAME` is in `forwarder_headers`, as by
 * default), else the `SCRIPT_NAME` environment variable (`-e SCRIPT_NAME=/app`), else `""`.
 * `req.url` is never rewritten: its path is what the client asked for, prefix included when the
 * proxy passes it on.
 */
export function scriptName(req: Request, server: unknown): string {
  const view = forwardingViewOf(server);
  if (view !== null && view.policy.isForwarderHeader("script_name") && view.trusted(req)) {
    const v = req.headers.get("script_name");
    if (v !== null) return v;
  }
  return process.env.SCRIPT_NAME ?? "";
}
