/**
 * A bunicorn config file with hooks. Settings are exported by name (Gunicorn's names); hooks are
 * exported functions. Use it with:
 *
 *     bunx bunicorn -c examples/bunicorn.config.ts examples/hello.ts
 *
 * (Named `bunicorn.config.ts` in your project root, it is read without `-c`.)
 */
import type { ArbiterView, HookRequest, WorkerRecord, WorkerView } from "bunicorn";

export const bind = ["127.0.0.1:8000"];
export const workers = 2;
export const timeout = 30;
export const graceful_timeout = 10;
export const max_requests = 10_000;
export const max_requests_jitter = 500;
export const raw_env = ["GREETING=hello"];

/** Arbiter, before anything else. */
export function on_starting(server: ArbiterView) {
  server.log.info("on_starting: arbiter %s is starting", server.pid);
}

/** Arbiter, once the first workers are ready. */
export function when_ready(server: ArbiterView) {
  server.log.info("when_ready: %s workers serving", server.workers.size);
}

/** Arbiter, just before each worker is spawned. */
export function pre_fork(server: ArbiterView, worker: WorkerRecord) {
  server.log.debug("pre_fork: worker #%s", worker.age);
}

/** Worker process, first thing. */
export function post_fork(_server: unknown, worker: WorkerView) {
  worker.log.info("post_fork: worker %s started (GREETING=%s)", worker.pid, process.env.GREETING);
}

/** Worker process, before each request (keep it cheap: it is on the request path). */
export function pre_request(worker: WorkerView, req: HookRequest) {
  worker.log.debug("%s %s", req.method, req.path);
}

/** Arbiter, after a worker exited. */
export function child_exit(server: ArbiterView, worker: WorkerRecord) {
  server.log.info("child_exit: worker %s exited (code %s, signal %s)", worker.pid, worker.exitCode, worker.signalCode);
}

/** Arbiter, just before it exits. */
export function on_exit(server: ArbiterView) {
  server.log.info("on_exit: goodbye from %s", server.pid);
}
