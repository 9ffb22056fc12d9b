/**
 * @module
 * The built-in worker classes, and the lookup of `worker_class` (with Gunicorn's rule: `sync`
 * with `threads > 1` means `gthread`; likewise a plugin class that extends the default worker
 * runs in `gthread`'s threads, one instance per thread).
 */
import type { Settings } from "../config/registry.ts";
import { loadClass } from "../plugins/load-class.ts";
import type { Worker, WorkerOptions } from "./base.ts";
import type { ProcessWorker, ProcessWorkerOptions } from "./process-worker.ts";

export type WorkerClass = new (opts: WorkerOptions) => Worker;

/** The default worker class or one that extends it: what a `gthread` thread runs. */
export type ThreadClass = new (opts: ProcessWorkerOptions) => ProcessWorker;

const BUILTIN_WORKERS: Record<string, () => Promise<WorkerClass>> = {
  sync: async () => (await import("./process-worker.ts")).ProcessWorker,
  process: async () => (await import("./process-worker.ts")).ProcessWorker,
  gthread: async () => (await import("./thread-worker.ts")).ThreadWorker,
  // The first-party Node (req, res) worker (plugins/node, also egg:bunicorn-node#node).
  node: async () => (await import("../../plugins/node/index.ts")).NodeWorker,
};

/** The default class and gthread by name; a built-in alias of a class extending ProcessWorker (node) is not one. */
export function isBuiltin(ref: Settings["worker_class"]): boolean {
  return typeof ref === "string" && ["sync", "process", "gthread"].includes(ref.trim().replace(/^#/, ""));
}

/** The worker class the settings ask for. */
export async function resolveWorkerClass(cfg: Pick<Settings, "worker_class" | "threads">, cwd?: string): Promise<WorkerClass> {
  let ref = cfg.worker_class;
  if ((ref === "sync" || ref === "process") && cfg.threads > 1 && BUILTIN_WORKERS.gthread) ref = "gthread";
  const cls = await loadClass<WorkerClass>(ref, "workers", BUILTIN_WORKERS, cwd);
  if (cfg.threads > 1 && !isBuiltin(ref) && (await extendsProcessWorker(cls))) return BUILTIN_WORKERS.gthread!();
  return cls;
}

/** The worker class's name for the log: `gthread` for `sync` with `threads > 1` (as Gunicorn logs the switch), a class by its name, a reference as given. */
export function workerClassName(cfg: Pick<Settings, "worker_class" | "threads">): string {
  const ref = cfg.worker_class;
  if ((ref === "sync" || ref === "process") && cfg.threads > 1) return "gthread";
  return typeof ref === "function" ? ref.name : String(ref);
}

/**
 * The class a `gthread` thread serves with: the default worker, or the plugin class the settings
 * name when it extends the default worker.
 */
export async function resolveThreadClass(cfg: Pick<Settings, "worker_class">, cwd?: string): Promise<ThreadClass> {
  const { ProcessWorker } = await import("./process-worker.ts");
  if (isBuiltin(cfg.worker_class)) return ProcessWorker;
  const cls = await loadClass<WorkerClass>(cfg.worker_class, "workers", BUILTIN_WORKERS, cwd);
  return (await extendsProcessWorker(cls)) ? (cls as unknown as ThreadClass) : ProcessWorker;
}

async function extendsProcessWorker(cls: Function): Promise<boolean> {
  const { ProcessWorker } = await import("./process-worker.ts");
  return cls === ProcessWorker || cls.prototype instanceof ProcessWorker;
}
