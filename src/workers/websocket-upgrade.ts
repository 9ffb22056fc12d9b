/**
 * @module
 * A request the app upgraded to a WebSocket, as `Worker.handle` answers it: the app returns no
 * Response after `server.upgrade(req)`, and that is a 101, not an error. `handle()` returns
 * {@link UPGRADED} (Bun.serve and the engine both ignore what comes back for an upgraded request)
 * and the access line is {@link upgradeRecord}'s: `101`, no body bytes.
 */
import { upgradeOf } from "../http/websocket/upgraded.ts";
import type { AccessRecord } from "../log/access-format.ts";

/** What `Worker.handle` returns for an upgraded request (never sent: the 101 went out already). */
export const UPGRADED: Response = new Response(null);

/** Whether the app upgraded `req` (the engine or, in reuse-port mode, bunicorn's marked it). */
export function wasUpgraded(req: Request): boolean {
  return upgradeOf(req) !== undefined;
}

/** The access record of an upgraded request. */
export function upgradeRecord(req: Request, durationMs: number): AccessRecord {
  const up = upgradeOf(req);
  const path = targetOf(req.url);
  return {
    remoteAddress: up?.remoteAddress ?? "",
    method: req.method,
    target: path,
    protocol: "HTTP/1.1",
    status: 101,
    bytes: 0,
    durationMs,
    time: Date.now(),
    requestHeader: (name) => req.headers.get(name),
    responseHeader: (name) => {
      switch (name.toLowerCase()) {
        case "upgrade":
          return "websocket";
        case "connection":
          return "Upgrade";
      }
      return up?.headers?.get(name) ?? null;
    },
  };
}

function targetOf(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? "/" : url.slice(i);
}
