/**
 * @module
 * The built-in worker classes, and the lookup of `worker_class` (with Gunicorn's rule: `sync`
 * with `threads > 1` means `gthread`).
 */
import type { Settings } from "../config/registry.ts";
import { loadClass } from "../plugins/load-class.ts";
import type { Worker, WorkerOptions } from "./base.ts";

export type WorkerClass = new (opts: WorkerOptions) => Worker;

const BUILTIN_WORKERS: Record<string, () => Promise<WorkerClass>> = {
  sync: async () => (await import("./process-worker.ts")).ProcessWorker,
  process: async () => (await import("./process-worker.ts")).ProcessWorker,
  gthread: async () => (await import("./thread-worker.ts")).ThreadWorker,
};

/** The worker class the settings ask for. */
export async function resolveWorkerClass(cfg: Pick<Settings, "worker_class" | "threads">, cwd?: string): Promise<WorkerClass> {
  let ref = cfg.worker_class;
  if ((ref === "sync" || ref === "process") && cfg.threads > 1 && BUILTIN_WORKERS.gthread) ref = "gthread";
  return loadClass<WorkerClass>(ref, "workers", BUILTIN_WORKERS, cwd);
}
