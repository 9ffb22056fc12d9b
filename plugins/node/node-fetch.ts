/**
 * @module
 * `nodeFetch(handler)`: a Node `(req, res)` request handler (an Express app, Koa's
 * `app.callback()`, an `http.createServer` listener) as a fetch function
 * `(request, server) => Promise<Response>`, so bunicorn serves it like any fetch app.
 *
 * Per request, `req` is Bun's `IncomingMessage` made from the `Request` (_incoming.ts) and `res`
 * Bun's `ServerResponse` on a socket of this exchange (_socket.ts) whose bytes become the
 * `Response` (_response.ts). The Response resolves once the head is written; a body still being
 * written after that tick streams.
 *
 * Errors: a handler that throws, or whose promise rejects, before the head is written fails the
 * request (bunicorn answers 500 and logs it); after that, `onError` is told and the body is cut
 * (the client sees a truncated response, as under Node). An `error` event on `res` with no
 * listener of the app's goes to `onError` too, instead of ending the process.
 */
import { ServerResponse } from "node:http";
import { incomingMessage } from "./_incoming.ts";
import { ResponseSink } from "./_response.ts";
import { ExchangeSocket, type Peer } from "./_socket.ts";

/** A Node request handler: `http.createServer(handler)`'s listener. */
export type NodeRequestHandler = (req: import("node:http").IncomingMessage, res: ServerResponse) => unknown;

export interface NodeFetchOptions {
  /** An error the request's own response can no longer report (its head has gone out). */
  onError?: (error: unknown, request: Request) => void;
}

interface Server {
  requestIP?(req: Request): Peer | null;
}

/** `ServerResponse`'s head rendering (Node's `OutgoingMessage._storeHeader`). */
type StoreHeader = (this: ServerResponse, firstLine: string, headers: unknown) => void;

export function nodeFetch(handler: NodeRequestHandler, options: NodeFetchOptions = {}): (request: Request, server: unknown) => Promise<Response> {
  const onError = options.onError ?? ((e: unknown) => console.error(e));
  return (request, server) => {
    let res: ServerResponse;
    let abortRequest = (): void => {};
    const sink = new ResponseSink(
      () => (res as unknown as { _header: unknown })._header,
      request.method === "HEAD",
      () => res.emit("drain"),
      () => {
        // The client went away mid-body: Node's `close` on the socket, `aborted` on an unread request.
        socket.destroy();
        abortRequest();
      },
    );
    const socket = new ExchangeSocket(peerOf(request, server), request.url.startsWith("https:"), sink);
    const incoming = incomingMessage(request, socket);
    abortRequest = incoming.abort;
    const req = incoming.req;
    res = new ServerResponse(req);
    // bunicorn's engines write the Date header, the connection headers and the framing.
    res.sendDate = false;
    const own = res as unknown as { _storeHeader: StoreHeader; chunkedEncoding: boolean };
    const storeHeader = own._storeHeader;
    own._storeHeader = function (this: ServerResponse, firstLine, headers) {
      storeHeader.call(this, firstLine, headers);
      // The body goes to a Response as written; Bun.serve or the engine frames it.
      (this as unknown as { chunkedEncoding: boolean }).chunkedEncoding = false;
    };
    res.on("error", (e) => onError(e, request));
    socket.on("error", () => {});
    res.assignSocket(socket as never);
    res.once("prefinish", () => sink.end());
    res.once("finish", () => {
      // As Node's server does once a response is out: the socket moves on, `close` follows.
      res.detachSocket(socket as never);
      process.nextTick(() => {
        const r = res as unknown as { _closed: boolean };
        if (r._closed) return;
        r._closed = true;
        res.emit("close");
      });
    });
    // The client leaving before the response is done (both engines abort the request's signal):
    // `close` on the socket and `res`, `aborted` on the request, so a handler waiting on
    // something (long polling) can stop; the exchange ends as a client error (DEBUG).
    request.signal.addEventListener(
      "abort",
      () => {
        if (res.writableFinished) return;
        const reason: unknown = request.signal.reason;
        socket.destroy(reason instanceof Error ? reason : new DOMException("The connection was closed.", "AbortError"));
        abortRequest();
      },
      { once: true },
    );
    const failed = (e: unknown): void => {
      if (!sink.fail(e)) onError(e, request);
    };
    try {
      const result = handler(req, res);
      if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
        (result as Promise<unknown>).then(undefined, failed);
      }
    } catch (e) {
      failed(e);
    }
    return sink.response;
  };
}

function peerOf(request: Request, server: unknown): Peer | null {
  try {
    return (server as Server | null)?.requestIP?.(request) ?? null;
  } catch {
    return null;
  }
}
