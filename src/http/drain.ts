/**
 * @module
 * The engine's graceful stop without losing a keep-alive client's next request.
 *
 * Closing an idle keep-alive connection races the client: a request it has just sent (or is
 * about to send, having read the previous response) meets the close and fails, and a busy
 * keep-alive client lost exactly one request on every reload that way. So a stopping engine
 * closes its listener at once but keeps each idle connection for a grace: a request that arrives
 * within it is answered with `Connection: close`, then the connection closes; a connection that
 * stays silent is closed once it has been idle for the grace. The grace covers a request already
 * on the wire and a busy client's turnaround (a round trip, a load balancer's hop, a client's
 * event loop), not a client that is merely parked: such a connection would be closed by
 * `keepalive` anyway, with the same race. A connection that has not sent its first request yet
 * (accepted just before the listener closed) is certainly about to: it gets a full second.
 *
 * Requests already in progress are answered as usual (bounded by the arbiter's
 * `graceful_timeout`), pipelined ones already read too, the last with `Connection: close`
 * (engine.ts `closesOnStop`).
 */
import type { Conn } from "./engine.ts";

/** How long a stopping engine keeps an idle keep-alive connection for its next request, in ms. */
export const DRAIN_IDLE_GRACE_MS = 1000;
/** How long a connection that has not sent its first request yet is kept, in ms. */
const FIRST_REQUEST_GRACE_MS = 1000;
/** How often a stopping engine looks for connections whose grace has passed, in ms. */
export const DRAIN_TICK_MS = 25;

/** Closes the idle connections whose grace has passed (`graceMs` for a kept-alive one). */
export function closeDrained(conns: Iterable<Conn>, now: number, graceMs: number): void {
  for (const c of conns) {
    const since = c.idleSince();
    if (since >= 0 && now - since >= (c.served === 0 ? FIRST_REQUEST_GRACE_MS : graceMs)) c.closeSoon();
  }
}
