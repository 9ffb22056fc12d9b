/**
 * @module
 * The request target as the client sent it (`import { rawTarget } from "bunicorn"`).
 *
 * `req.url` is a WHATWG URL: dot segments are resolved, `%2e%2e` included, so
 * `GET /public/%2e%2e/admin` reaches the app as `/admin`, and raw UTF-8 bytes are percent-encoded.
 * An app that must see exactly what was sent (Gunicorn's `RAW_URI`) reads {@link rawTarget}.
 *
 * Available where bunicorn's own HTTP engine parses the request (shared-socket mode: `unix:`,
 * `fd://`, systemd sockets, `--no-reuse-port`, and gthread on them). Bun.serve (reuse-port mode)
 * normalises the target in native code before JavaScript sees the request and keeps no copy
 * (Bun 1.4.4: no property, own or inherited, holds it), so there `rawTarget` is null: check
 * access on the normalised path the app routes on (`new URL(req.url).pathname`), and have the
 * proxy in front match on the normalised path too (nginx does by default).
 *
 * Small and free of imports: cheap to load in an app.
 */

/** Where the engine's requests keep their raw target (a registry symbol, so any copy of bunicorn finds it). */
export const RAW_TARGET: unique symbol = Symbol.for("bunicorn.rawTarget") as never;

/**
 * The request target exactly as the client sent it (`/public/%2e%2e/admin?q=1`,
 * `http://host/path` for the absolute form, `*`, `host:443` for CONNECT), one character per byte
 * (latin-1, as WSGI's `RAW_URI`: `Buffer.from(t, "latin1")` gives the bytes back); null when the
 * request did not come through bunicorn's engine (reuse-port mode's Bun.serve, or a copy made with
 * `new Request(req)` / `req.clone()`).
 */
export function rawTarget(req: Request): string | null {
  const t = (req as unknown as Record<symbol, unknown>)[RAW_TARGET];
  return typeof t === "string" ? t : null;
}
