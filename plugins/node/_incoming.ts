/**
 * @module
 * A Node `IncomingMessage` (Bun's own class, so `instanceof` and Express's prototype swap work)
 * made from the fetch `Request` bunicorn parsed: method, the request target, headers, and the
 * body read from `request.body` only as the handler consumes it (`req.on('data')`, `pipe`,
 * `express.json()`), with backpressure: a chunk is read when the stream asks for one.
 */
import { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { rawTarget } from "bunicorn/request-target";
import type { ExchangeSocket } from "./_socket.ts";

/** `IncomingMessage` with the members Node's HTTP parser sets. */
type Incoming = IncomingMessage & { _read: (size: number) => void; complete: boolean };

export interface IncomingExchange {
  req: IncomingMessage;
  /** The client went away: stop reading the body, destroy the request (`aborted`, `close`). */
  abort(): void;
}

export function incomingMessage(request: Request, socket: ExchangeSocket): IncomingExchange {
  const req = new IncomingMessage(socket as unknown as Socket) as Incoming;
  req.method = request.method;
  // As the client sent it where bunicorn's engine parsed it (Node's req.url); Bun.serve keeps
  // only the normalised URL, so there it is the path and query of that.
  req.url = rawTarget(request) ?? pathAndQuery(request.url);
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = "1.1";
  const raw: string[] = [];
  for (const [name, value] of request.headers) {
    if (name === "set-cookie") continue;
    raw.push(name, value);
  }
  for (const cookie of request.headers.getSetCookie()) raw.push("set-cookie", cookie);
  // Node's parser fills rawHeaders; `req.headers` is built from them on first use (duplicates joined as Node joins them).
  req.rawHeaders = raw;

  const body = request.body;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let reading = false;
  let done = false;
  if (body === null) {
    done = true;
    req.complete = true;
    req.push(null);
  } else {
    req._read = () => {
      if (reading || done) return;
      reading = true;
      const r = (reader ??= body.getReader() as ReadableStreamDefaultReader<Uint8Array>);
      const next = (): void => {
        r.read().then(
          ({ done: end, value }) => {
            if (end) {
              done = true;
              reading = false;
              req.complete = true;
              req.push(null);
              return;
            }
            if (value.byteLength === 0) return next();
            if (req.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) return next();
            reading = false;
          },
          (error: unknown) => {
            done = true;
            reading = false;
            // A bad or slow body, the client gone: the handler sees an `error` (body-parser answers 400).
            req.destroy(error instanceof Error ? error : new Error(String(error)));
          },
        );
      };
      next();
    };
  }
  return {
    req,
    abort() {
      if (!done) {
        done = true;
        reader?.cancel().catch(() => {});
      }
      if (!req.destroyed) req.destroy();
    },
  };
}

function pathAndQuery(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? "/" : url.slice(i);
}
