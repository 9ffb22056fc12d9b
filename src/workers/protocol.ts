/**
 * @module
 * The IPC protocol between the arbiter and its workers (JSON serialization: every message is
 * plain data, and Bun's JSON channel costs each process ~0.5 MB less RSS than `advanced`).
 *
 * worker → arbiter: `booted` (app loaded and listening: the readiness signal), `heartbeat` (from
 * the event loop, every `min(1 s, timeout/4)` but at least 100 ms apart; every second when
 * `timeout` is 0; it also carries the requests in flight and, with `metrics_bind`, the status
 * and duration counts: src/workers/request-report.ts), `busy` (the requests in flight, sent
 * before a request runs: see src/workers/request-watch.ts), `retiring` (max_requests reached),
 * `abort` (kill this worker now, as a timed-out one: a gthread worker whose thread is stuck in
 * reuse-port mode, see `thread-worker.ts`).
 * arbiter → worker: `init` (first message), `reopen-logs` (USR1), `close-idle` (ahead of a
 * SIGTERM that nothing takes over from: stop-hint.ts). Stopping is by signal: SIGTERM
 * (graceful), SIGQUIT or SIGINT (quick).
 */
import type { Settings } from "../config/registry.ts";
import type { BusyRequest, RequestReport } from "./request-report.ts";

/**
 * The two listening modes (docs/design.md, "Listening"): `reuse-port`, each worker binds its own
 * SO_REUSEPORT socket and serves it with Bun.serve; `shared-socket`, the arbiter owns the socket
 * and every worker serves it with bunicorn's HTTP engine.
 */
export type ListenMode = "reuse-port" | "shared-socket";

/** How a worker listens. */
export type ListenerSpec =
  /** Reuse-port mode: the worker binds its own SO_REUSEPORT socket with Bun.serve. */
  | { mode: "reuse-port"; host: string; port: number; display: string }
  /** Shared-socket mode: the arbiter's listening socket, at this fd in the worker. */
  | { mode: "shared-socket"; fd: number; display: string; unix: boolean };

export interface WorkerInit {
  type: "init";
  /**
   * Every setting, resolved by the arbiter, except that a function value (a hook, a class),
   * which cannot cross IPC, is replaced by the setting's default and named in `functions`.
   * The worker needs no settings registry.
   */
  settings: Settings;
  /**
   * The settings whose value is a function, to import again in the worker: each maps to its
   * `ABSOLUTE_PATH#EXPORT` reference, or to null when the function came from `configFile`.
   */
  functions: Record<string, string | null>;
  configFile: string | null;
  app: string;
  age: number;
  arbiterPid: number;
  listeners: ListenerSpec[];
}

export type ArbiterMessage =
  | WorkerInit
  | { type: "reopen-logs" }
  /** Ahead of SIGTERM when nothing takes over: close idle keep-alive connections at once (stop-hint.ts). */
  | { type: "close-idle" };

export type WorkerMessage =
  | { type: "booted" }
  | ({ type: "heartbeat"; requests: number; inFlight: number; rss: number } & RequestReport)
  | { type: "busy"; busy: BusyRequest[] }
  | { type: "retiring"; reason: string }
  | { type: "abort"; reason: string };
