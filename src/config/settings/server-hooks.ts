/** @module Settings of the "Server Hooks" section: functions exported from the config file. */
import type { ArbiterInfo, ArbiterView, ConfigView, HookRequest, WorkerRecord, WorkerView } from "../../hook-types.ts";
import type { TlsOptions } from "../../workers/tls-options.ts";
import { defineSetting, type Scope } from "../setting.ts";
import * as v from "../validators.ts";

interface HookSpec<F> {
  name: string;
  signature: string;
  arity: number;
  scope: Scope;
  description: string;
  bunNote?: string;
  _type?: F;
}

function hookSetting<const N extends string, F>(spec: HookSpec<F> & { name: N }) {
  return defineSetting({
    name: spec.name,
    section: "Server Hooks",
    default: () => null as F | null,
    defaultDoc: "no-op",
    validate: v.hook<F>(spec.arity),
    scope: spec.scope,
    support: spec.bunNote ? "translated" : "supported",
    ...(spec.bunNote ? { bunNote: spec.bunNote } : {}),
    hookSignature: spec.signature,
    description: spec.description,
  });
}

type MaybeAsync = void | Promise<void>;

export const serverHookSettings = [
  hookSetting<"on_starting", (server: ArbiterView) => MaybeAsync>({
    name: "on_starting",
    signature: "on_starting(server)",
    arity: 1,
    scope: "arbiter",
    description: "Called just before the master process is initialized.",
  }),
  hookSetting<"on_reload", (server: ArbiterView) => MaybeAsync>({
    name: "on_reload",
    signature: "on_reload(server)",
    arity: 1,
    scope: "arbiter",
    description: "Called to recycle workers during a reload via SIGHUP.",
  }),
  hookSetting<"when_ready", (server: ArbiterView) => MaybeAsync>({
    name: "when_ready",
    signature: "when_ready(server)",
    arity: 1,
    scope: "arbiter",
    description: "Called just after the server is started.",
    bunNote: "Runs once the first generation of workers has reported ready, not merely after the sockets are bound.",
  }),
  hookSetting<"pre_fork", (server: ArbiterView, worker: WorkerRecord) => MaybeAsync>({
    name: "pre_fork",
    signature: "pre_fork(server, worker)",
    arity: 2,
    scope: "arbiter",
    description: "Called just before a worker is spawned.",
    bunNote: "Bun has no `fork`: this runs in the arbiter just before `Bun.spawn`; `worker.pid` is 0 then.",
  }),
  hookSetting<"post_fork", (server: ArbiterInfo, worker: WorkerView) => MaybeAsync>({
    name: "post_fork",
    signature: "post_fork(server, worker)",
    arity: 2,
    scope: "worker",
    description: "Called just after a worker has been spawned, first thing in the worker process.",
    bunNote: "Runs in the new worker process; `server` is a read-only view (pid, cfg) of the arbiter.",
  }),
  hookSetting<"post_worker_init", (worker: WorkerView) => MaybeAsync>({
    name: "post_worker_init",
    signature: "post_worker_init(worker)",
    arity: 1,
    scope: "worker",
    description: "Called just after a worker has initialized the application.",
  }),
  hookSetting<"worker_int", (worker: WorkerView) => MaybeAsync>({
    name: "worker_int",
    signature: "worker_int(worker)",
    arity: 1,
    scope: "worker",
    description: "Called just after a worker exited on SIGINT or SIGQUIT.",
  }),
  hookSetting<"worker_abort", (worker: WorkerView) => MaybeAsync>({
    name: "worker_abort",
    signature: "worker_abort(worker)",
    arity: 1,
    scope: "worker",
    description: "Called when a worker received the SIGABRT signal. This call generally happens on timeout.",
    bunNote: "A worker whose JavaScript loop is stuck cannot run it: signal handlers only run when the loop is free.",
  }),
  hookSetting<"pre_exec", (server: ArbiterView) => MaybeAsync>({
    name: "pre_exec",
    signature: "pre_exec(server)",
    arity: 1,
    scope: "arbiter",
    description: "Called just before a new master process is started (USR2).",
  }),
  hookSetting<"pre_request", (worker: WorkerView, req: HookRequest) => MaybeAsync>({
    name: "pre_request",
    signature: "pre_request(worker, req)",
    arity: 2,
    scope: "worker",
    description: "Called just before a worker processes the request.",
  }),
  hookSetting<"post_request", (worker: WorkerView, req: HookRequest, environ: Record<string, string>, resp: Response) => MaybeAsync>({
    name: "post_request",
    signature: "post_request(worker, req, environ, resp)",
    arity: 4,
    scope: "worker",
    description: "Called after a worker processes the request.",
    bunNote: "`environ` is a small record (REMOTE_ADDR, SERVER_PROTOCOL, ...) since there is no WSGI environ; `resp` is the app's Response.",
  }),
  hookSetting<"child_exit", (server: ArbiterView, worker: WorkerRecord) => MaybeAsync>({
    name: "child_exit",
    signature: "child_exit(server, worker)",
    arity: 2,
    scope: "arbiter",
    description: "Called just after a worker has been exited, in the master process.",
  }),
  hookSetting<"worker_exit", (server: ArbiterInfo, worker: WorkerView) => MaybeAsync>({
    name: "worker_exit",
    signature: "worker_exit(server, worker)",
    arity: 2,
    scope: "worker",
    description: "Called just after a worker has been exited, in the worker process.",
  }),
  hookSetting<"nworkers_changed", (server: ArbiterView, newValue: number, oldValue: number | null) => MaybeAsync>({
    name: "nworkers_changed",
    signature: "nworkers_changed(server, new_value, old_value)",
    arity: 3,
    scope: "arbiter",
    description: `Called just after num_workers has been changed.

If the number of workers is set for the first time, \`old_value\` would be \`null\`.`,
  }),
  hookSetting<"on_exit", (server: ArbiterView) => MaybeAsync>({
    name: "on_exit",
    signature: "on_exit(server)",
    arity: 1,
    scope: "arbiter",
    description: "Called just before exiting bunicorn.",
  }),
  hookSetting<"ssl_context", (config: Readonly<ConfigView>, defaultContext: () => TlsOptions) => TlsOptions | Promise<TlsOptions>>({
    name: "ssl_context",
    signature: "ssl_context(config, default_ssl_context_factory)",
    arity: 2,
    scope: "worker",
    description: "Called when the TLS options are needed. Allows customizing them.",
    bunNote:
      "Works with Bun's TLS options object instead of a Python `SSLContext`: the factory returns a fresh one built from the SSL settings (`{cert, key, ca, requestCert, rejectUnauthorized, ciphers, minVersion}`, files read as text), and the hook returns the options to serve with, or a Promise of them (e.g. `{ ...factory(), minVersion: 0x0304 }` for TLS 1.3 only). It runs once per worker process, in both listening modes (a gthread worker's threads share its result).",
  }),
] as const;
