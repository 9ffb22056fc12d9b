/**
 * `serveHttp`: starts the engine on a target, with the socket handlers that hand each accepted
 * socket's events to its connection (`Conn`, engine.ts).
 *
 * @module
 */
import type { SocketHandler } from "bun";
import { Conn } from "./engine.ts";
import { Server } from "./_server.ts";
import type { HttpEngine, HttpEngineOptions, HttpTarget } from "./types.ts";

const handlers: SocketHandler<Conn> = {
  open(socket) {
    // `data` given to Bun.listen is each accepted socket's initial `data`: the server.
    const server = socket.data as unknown;
    if (!(server instanceof Server)) {
      socket.terminate();
      return;
    }
    const c = new Conn(server, socket);
    socket.data = c;
    server.connOpened(c);
  },
  data(socket, chunk) {
    const c = socket.data;
    if (c !== undefined) c.onData(chunk);
  },
  drain(socket) {
    const c = socket.data;
    if (c !== undefined) c.onDrain();
  },
  end(socket) {
    const c = socket.data;
    if (c !== undefined) c.onEnd();
  },
  close(socket) {
    const c = socket.data;
    if (c !== undefined) c.onClose();
  },
  error() {
    // `close` follows.
  },
};

/** The same handlers, with a PROXY header expected before the first request. */
const proxyHandlers: SocketHandler<Conn> = {
  ...handlers,
  data(socket, chunk) {
    const c = socket.data;
    if (c === undefined) return;
    if (c.proxy !== null) c.onProxyData(chunk);
    else c.onData(chunk);
  },
};

/**
 * Serves `options.fetch` over HTTP/1.1 on `target` (an inherited listening fd,
 * a TCP address, or a unix socket path) with bunicorn's own engine.
 *
 * @example
 * ```ts
 * const engine = serveHttp({ fd: 3 }, { fetch: () => new Response("hi") });
 * process.on("SIGTERM", () => engine.stop().then(() => process.exit(0)));
 * ```
 */
export function serveHttp(target: HttpTarget, options: HttpEngineOptions): HttpEngine & { readonly port: number } {
  return new Server(target, options, { plain: handlers, proxy: proxyHandlers });
}
