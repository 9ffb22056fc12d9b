/**
 * `server.upgrade(req, {data, headers})` in the engine, as Bun.serve answers it: true after the
 * `101 Switching Protocols` went out (the app's extra headers first, then `Upgrade`, `Connection`,
 * `Sec-WebSocket-Accept` and `Date`) and the `open` handler ran; false for a request that is not a
 * WebSocket handshake (the app's own response is sent). A wrong `Sec-WebSocket-Version` gets
 * Bun's `426 Upgrade Required` and a close, and the app's response is dropped.
 *
 * The upgraded exchange is finished at once (the access log gets its 101 line) and the socket is
 * handed to the WebSocket (`Conn.handOver`); whatever the app returns for it is ignored.
 *
 * @module
 */
import type { HeadersInit, Socket, WebSocketHandler } from "bun";
import { EX_APP, exchangeOf } from "./_exchange.ts";
import { clock } from "./_status.ts";
import { acceptKey, handshakeKey, VERSION_REQUIRED_HEAD } from "./websocket/handshake.ts";
import { WebSocketHub } from "./websocket/hub.ts";
import { markUpgraded } from "./websocket/upgraded.ts";

/** What `server.upgrade()` takes. */
export interface UpgradeOptions {
  data?: unknown;
  headers?: HeadersInit;
}

/** The engine's WebSockets for the app's `websocket` handlers (publishes relayed on `publishChannel` when given). */
export function createHub(handler: WebSocketHandler<unknown>, publishChannel: string | null): WebSocketHub {
  return new WebSocketHub(handler, publishChannel);
}

export function upgradeRequest(hub: WebSocketHub, req: Request, options?: UpgradeOptions): boolean {
  const ex = exchangeOf(req);
  if (ex === undefined || ex.state !== EX_APP || ex.head === null) return false;
  const conn = ex.conn;
  // Only the connection's one exchange, with nothing of an earlier response still queued.
  if (conn.closed || conn.queue.length !== 1 || conn.output.pending) return false;
  const key = handshakeKey(ex.head);
  if (key === null) return false;
  if (key === "version") {
    ex.status = 426;
    ex.keepAlive = false;
    conn.output.writeHead(VERSION_REQUIRED_HEAD);
    conn.done(ex);
    return false;
  }
  const accept = acceptKey(key);
  const rh: string[] | null = conn.server.onResponse !== null ? [] : null;
  let h = "HTTP/1.1 101 Switching Protocols\r\n";
  if (options?.headers !== undefined) {
    for (const [k, v] of new Headers(options.headers)) {
      h += k + ": " + v + "\r\n";
      rh?.push(k, v);
    }
  }
  h += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n" + clock.dateLine + "\r\n";
  rh?.push("Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", accept);
  ex.status = 101;
  ex.resHeaders = rh;
  const ws = hub.accept(conn.socket as unknown as Socket<unknown>, options?.data, conn.peerAddress());
  ws.writeRaw(Buffer.from(h, "latin1"));
  conn.handOver(ex, ws);
  markUpgraded(req);
  ws.start();
  return true;
}
