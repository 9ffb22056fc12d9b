/**
 * @module
 * Telling a client's fault from a server fault when a request fails, so that a client cannot
 * flood the error log: a malformed or too slow or too large request body, or a client that went
 * away, fails the app's `await req.text()` and the app throws, but nothing is wrong with the
 * server. Such a failure is logged at DEBUG, on one line without a stack, and answered with the
 * client error's status; anything else stays an ERROR with its stack (Gunicorn logs client parse
 * errors as one line, `Invalid request from ip=...`, and server faults with a traceback).
 *
 * The client errors, by what the app's body stream fails with:
 * - the engine's protocol errors (src/http/errors.ts `HttpError`: `InvalidChunkSize` 400,
 *   `RequestBodyTooLarge` 413, `RequestTimeout` 408, ...);
 * - `AbortError: The connection was closed.`: the client left (both engines), or Bun.serve refused
 *   the rest of the body (a malformed chunk: Bun answers its own 400 and the app sees only this);
 * - Bun.serve's `Error: Request body exceeded maxRequestBodySize`: a chunked body passed
 *   `limit_request_body` (Bun answers its own 413; a plain `Error`, told by its message).
 *
 * An error wrapping one of these (`cause`, up to three levels: frameworks wrap) counts too.
 */
import { HttpError } from "../http/errors.ts";
import type { Logger } from "../log/logger.ts";

/** What a client error gives: the status to answer (400 when the client is gone or Bun answered) and a one-line reason. */
export interface ClientError {
  readonly status: number;
  readonly message: string;
}

/** The client error `e` is (or wraps), or null for a server fault. */
export function clientErrorOf(e: unknown): ClientError | null {
  for (let depth = 0; depth < 4 && e !== null && typeof e === "object"; depth++) {
    if (e instanceof HttpError) return { status: e.status, message: `${e.name}: ${e.message}` };
    if (isConnectionClosed(e)) return { status: 400, message: "the connection was closed (the client left, or its request body was refused)" };
    if (isBodyTooLarge(e)) return { status: 413, message: "the request body exceeded limit_request_body" };
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** Bun's and the engine's reason for a body stream or signal whose connection closed. */
function isConnectionClosed(e: object): boolean {
  return e instanceof DOMException && e.name === "AbortError" && e.message === "The connection was closed.";
}

/** Bun.serve's error for a request body over `maxRequestBodySize` (`limit_request_body`). */
function isBodyTooLarge(e: object): boolean {
  return e instanceof Error && e.message === "Request body exceeded maxRequestBodySize";
}

/**
 * Logs an error the engine or Bun.serve reports outside `Worker.handle` (a response body that
 * fails, e.g. a stream of the request's body): a client error at DEBUG on one line, else an ERROR
 * with its stack.
 */
export function logServeError(log: Logger, e: unknown): void {
  const client = clientErrorOf(e);
  if (client !== null) log.debug("Client error handling request: %s", client.message);
  else log.error("Error handling request: %s", e instanceof Error ? (e.stack ?? e.message) : String(e));
}

/** The plain response for a client error (the connection closes). */
export function clientErrorResponse(err: ClientError): Response {
  const text = STATUS_TEXT[err.status] ?? "Bad Request";
  return new Response(`${text}\n`, { status: err.status, headers: { "content-type": "text/plain", connection: "close" } });
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  413: "Content Too Large",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
};
