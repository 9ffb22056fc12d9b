/**
 * The request-body timeouts (`body_timeout`, `body_min_rate`), one rule for both engines, after
 * Apache's mod_reqtimeout (`body=20,MinRate=500`):
 *
 * - **pause**: while the server waits for body bytes, none may fail to come for `timeoutMs`;
 * - **rate**: after a grace of `timeoutMs` of waiting, the body must have arrived at an average
 *   of `minRate` bytes per second of waiting: with `W` ms spent waiting and `R` bytes received,
 *   it is overdue once `W > timeoutMs + R / minRate` (a 1 byte/s trickle is cut just after the
 *   grace, a body at `minRate` or faster never).
 *
 * Only time spent *waiting for the client* counts: not while the app does not read its body
 * (backpressure in the engine, no pending read under Bun.serve), nor while a `100 Continue` is
 * still due. So a slow handler keeps its time. The result is a deadline the caller compares with
 * `performance.now()` on its sweep (the engine's once-a-second sweep, or the reuse-port watcher);
 * a body past it is answered with {@link RequestTimeout} (408) and its connection closed.
 *
 * @module
 */
import { RequestTimeout } from "./errors.ts";

/** `body_timeout`'s default, in seconds (mod_reqtimeout's `body=20`). */
export const DEFAULT_BODY_TIMEOUT = 20;
/** `body_min_rate`'s default, in bytes per second (mod_reqtimeout's `MinRate=500`). */
export const DEFAULT_BODY_MIN_RATE = 500;

/** The two settings, in the units the clock uses. */
export interface BodyPolicy {
  /** The longest pause, and the grace before the rate applies, in ms (0: no pause limit, no grace). */
  readonly timeoutMs: number;
  /** Bytes per second of waiting after the grace (0: no rate limit). */
  readonly minRate: number;
}

/** The policy for `body_timeout` seconds and `body_min_rate` bytes/s; null when both are 0 (off). */
export function bodyPolicy(bodyTimeout: number, bodyMinRate: number): BodyPolicy | null {
  const timeoutMs = Math.max(0, bodyTimeout) * 1000;
  const minRate = Math.max(0, bodyMinRate);
  return timeoutMs > 0 || minRate > 0 ? { timeoutMs, minRate } : null;
}

/** The error a body past its deadline fails with: the app's read rejects with it, the client gets its 408. */
export function bodyTimedOut(): RequestTimeout {
  return new RequestTimeout("Request body timed out (body_timeout, body_min_rate)");
}

/** One request body's waiting time and bytes; reused for the next body with {@link reset}. */
export class BodyClock {
  /** Ms spent waiting before {@link since}. */
  private waitedMs = 0;
  /** When the current wait was last accounted (0: not waiting). */
  private since = 0;
  /** Start of the current pause: the last byte, or the start of the wait. */
  private pauseFrom = 0;
  private received = 0;

  constructor(private readonly policy: BodyPolicy) {}

  /** A new body begins. */
  reset(): void {
    this.waitedMs = 0;
    this.since = 0;
    this.pauseFrom = 0;
    this.received = 0;
  }

  /**
   * The body's state at `now`: `received` bytes so far (counted by the caller), and whether the
   * server is waiting for more. Returns {@link deadline}.
   */
  update(now: number, received: number, waiting: boolean): number {
    if (this.since > 0) this.waitedMs += now - this.since;
    if (waiting) {
      // A pause starts with the wait, and again with every byte.
      if (this.since === 0 || received !== this.received) this.pauseFrom = now;
      this.since = now;
    } else this.since = 0;
    this.received = received;
    return this.deadline();
  }

  /** When the body is overdue, as a `performance.now()` time; 0 while not waiting (never). */
  deadline(): number {
    if (this.since === 0) return 0;
    const { timeoutMs, minRate } = this.policy;
    let d = timeoutMs > 0 ? this.pauseFrom + timeoutMs : Infinity;
    if (minRate > 0) d = Math.min(d, this.since - this.waitedMs + timeoutMs + (this.received * 1000) / minRate);
    // Never 0 while waiting (0 means "no deadline" to the callers).
    return Math.max(d, 1);
  }
}
