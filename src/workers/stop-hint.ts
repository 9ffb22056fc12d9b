/**
 * @module
 * Whether a stopping worker drains its idle keep-alive connections, as the arbiter tells it.
 *
 * A graceful stop keeps each idle keep-alive connection for a short grace, so that a request
 * already on its way is answered with `Connection: close` (src/http/drain.ts,
 * reuse-port-drain.ts): that is what makes a reload lossless, since the client's next connection
 * reaches the workers that take over. When the whole server stops and nothing takes over (TERM
 * with no USR2 arbiter alongside and no `drain_delay`), a client's next request fails anyway, and
 * the arbiter sends `close-idle` ahead of SIGTERM: idle keep-alive connections are then closed at
 * once, as Gunicorn (and Bun.serve's own stop) do, and the stop takes no grace.
 *
 * One per JavaScript realm: a gthread thread gets the hint from its process's main thread
 * (`thread-worker.ts`). The hint may arrive just after SIGTERM: drains look at it as they go.
 */

let closeIdle = false;
const waiting: (() => void)[] = [];

/** The arbiter's `close-idle`: idle keep-alive connections need not be kept. */
export function closeIdleOnStop(): void {
  if (closeIdle) return;
  closeIdle = true;
  for (const f of waiting.splice(0)) f();
}

/** Whether `close-idle` has come. */
export function closingIdle(): boolean {
  return closeIdle;
}

/** Runs `f` once `close-idle` comes (at once if it has). */
export function onCloseIdle(f: () => void): void {
  if (closeIdle) f();
  else waiting.push(f);
}
