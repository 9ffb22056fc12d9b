/**
 * @module
 * The app's `websocket` handlers under Bun.serve (reuse-port mode): Bun does the protocol; this
 * marks each upgraded request for `Worker.handle` (whose 101 access line needs the peer's address,
 * which `server.requestIP()` no longer gives once the request is upgraded), and in a gthread
 * thread relays publishes to the other threads (src/workers/thread-pubsub.ts).
 */
import type { HeadersInit, Server, WebSocketHandler } from "bun";
import { markUpgraded } from "../http/websocket/upgraded.ts";
import type { Worker } from "./base.ts";
import type { ListenerSpec } from "./protocol.ts";
import { bunServeRelay, publishChannelOf } from "./thread-pubsub.ts";

/** What Bun.serve gets for `listener`: `handlers` as its `websocket`, then `attach(server)`; null when the app has none. */
export function reusePortWebSocket(worker: Worker, listener: ListenerSpec): { handlers: WebSocketHandler<unknown>; attach(server: Server<unknown>): void } | null {
  const app = worker.app.websocket as WebSocketHandler<unknown> | undefined;
  if (app === undefined || app === null) return null;
  const channel = publishChannelOf(listener);
  const relay = channel === null ? null : bunServeRelay(app, channel);
  return {
    handlers: relay?.handlers ?? app,
    attach(server) {
      relay?.attach(server);
      markUpgrades(server);
    },
  };
}

type Upgrade = (req: Request, options?: { data?: unknown; headers?: HeadersInit }) => boolean;

/** Wraps `server.upgrade` so that a successful upgrade is marked (with the peer's address). */
function markUpgrades(server: Server<unknown>): void {
  const native = (server.upgrade as Upgrade).bind(server);
  (server as { upgrade: unknown }).upgrade = (req: Request, options?: { data?: unknown; headers?: HeadersInit }): boolean => {
    const peer = server.requestIP(req);
    const ok = native(req, options);
    if (ok) markUpgraded(req, { remoteAddress: peer?.address ?? "", headers: options?.headers !== undefined ? new Headers(options.headers) : null });
    return ok;
  };
}
