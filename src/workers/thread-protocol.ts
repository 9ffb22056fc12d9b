/**
 * @module
 * @internal The messages between a `gthread` worker process's main thread
 * (`thread-worker.ts`) and its serving threads (`thread-main.ts`), sent with `postMessage`
 * (structured clone: no functions cross).
 *
 * main → thread: `init` (first message), `stop`, `reopen-logs`, `close-idle` (the arbiter's:
 * stop-hint.ts).
 * thread → main: `ready` (app loaded, listening), `failed` (before `ready`), `beat` (every
 * `beatMs` from the thread's event loop, and soon after a request when `eager`; with the
 * requests in flight and the metrics' counts, src/workers/request-report.ts), `busy` (the
 * requests in flight, posted before a request runs: src/workers/request-watch.ts), `log`,
 * `stopped` (just before the thread exits).
 */
import type { ListenerSpec } from "./protocol.ts";
import type { BusyRequest, RequestReport } from "./request-report.ts";
import type { TlsOptions } from "./tls-options.ts";

export interface ThreadInit {
  type: "init";
  /** Slot number (0 .. threads-1); a replacement thread takes the slot of the one it replaces. */
  index: number;
  app: string;
  cwd: string;
  /** The worker's settings with function values (hooks, classes) set to null. */
  settings: Record<string, unknown>;
  /** The request hooks and class-valued `worker_class`/`logger_class` a thread imports again (`PATH#EXPORT`, or null: from `configFile`). */
  hooks: Record<string, string | null>;
  configFile: string | null;
  /** The process's listeners; a thread listens on its own `dup()` of each shared-socket listener's fd. */
  listeners: ListenerSpec[];
  /** Bun's TLS options, resolved once by the process (through `ssl_context`); null for plain HTTP. */
  tls: TlsOptions | null;
  age: number;
  arbiterPid: number;
  beatMs: number;
  /** Report counters right after requests complete (max_requests is set). */
  eager: boolean;
}

export type ToThread = ThreadInit | { type: "stop"; graceful: boolean } | { type: "reopen-logs" } | { type: "close-idle" };

export type LogLevel = "debug" | "info" | "warning" | "error" | "critical" | "exception";

export type FromThread =
  | { type: "ready"; threadId: number }
  | { type: "failed"; appLoad: boolean; message: string }
  | ({ type: "beat"; requests: number; inFlight: number } & RequestReport)
  | { type: "busy"; busy: BusyRequest[] }
  | { type: "log"; level: LogLevel; msg: string; args: unknown[] }
  | ({ type: "stopped"; requests: number } & RequestReport);
