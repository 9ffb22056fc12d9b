/**
 * @module
 * What each control command does to the arbiter. `show` commands read the arbiter's own table
 * at once (no worker is asked, so a stuck worker cannot delay them); the others go through the
 * arbiter's signal queue as the matching signal would (TTIN, TTOU, HUP, USR1, TERM, QUIT: same
 * log lines, same hooks), and the reply is sent once the loop has handled them.
 */
import type { ArbiterStats, WorkerStats } from "./stats.ts";
import type { ControlCommand } from "./control-protocol.ts";

/** A signal a control command queues. */
export type ControlSignal = "SIGTTIN" | "SIGTTOU" | "SIGHUP" | "SIGUSR1" | "SIGTERM" | "SIGQUIT";

/** One listener as `show listeners` reports it. */
export interface ListenerInfo {
  address: string;
  mode: string;
  /** The arbiter's fd of a shared socket, else null (reuse-port: each worker binds its own). */
  fd: number | null;
}

/** What the commands need of the arbiter (the `Arbiter` class implements it). */
export interface ControlTarget {
  readonly pid: number;
  readonly cfg: object;
  /** The worker count asked for. */
  readonly numWorkers: number;
  stats(): { arbiter: ArbiterStats; workers: WorkerStats[] };
  listenerInfo(): ListenerInfo[];
  /** True when `pid` is one of its live workers. */
  isWorker(pid: number): boolean;
  /**
   * Queues `signals` as if they had been received, then calls `then` from the arbiter loop once
   * they have been handled; resolves to its result. Rejects when the arbiter is shutting down.
   */
  command<T>(signals: readonly ControlSignal[], then: () => T): Promise<T>;
  /** Gracefully stops one worker (SIGTERM; a replacement starts). False when `pid` is not a live worker. */
  killWorker(pid: number): boolean;
}

/** A failed command: its message is the reply's `error`. */
export class CommandError extends Error {}

/** The effective settings as JSON can carry them: a function (a hook, a class) shows as its name. */
function configView(cfg: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === "function") out[k] = `<function ${v.name || "anonymous"}>`;
    else if (typeof v === "number" && !Number.isFinite(v)) out[k] = String(v);
    else out[k] = v;
  }
  return out;
}

/** Runs one command; resolves to the reply's `result`, or throws a {@link CommandError}. */
export async function runCommand(target: ControlTarget, cmd: ControlCommand): Promise<unknown> {
  switch (cmd.kind) {
    case "show": {
      const { arbiter, workers } = target.stats();
      switch (cmd.what) {
        case "workers":
          return { target: target.numWorkers, workers };
        case "stats":
          return arbiter;
        case "config":
          return configView(target.cfg);
        case "listeners":
          return { listeners: target.listenerInfo() };
        case "all":
          return { arbiter, workers, listeners: target.listenerInfo() };
      }
      break;
    }
    case "worker-add":
    case "worker-remove": {
      const previous = target.numWorkers;
      const sig = cmd.kind === "worker-add" ? "SIGTTIN" : "SIGTTOU";
      const workers = await target.command(Array<ControlSignal>(cmd.count).fill(sig), () => target.numWorkers);
      return { previous, workers };
    }
    case "worker-kill": {
      if (!target.isWorker(cmd.pid)) throw new CommandError(`worker kill: ${cmd.pid} is not a worker of this arbiter (pid ${target.pid})`);
      const stopped = await target.command([], () => target.killWorker(cmd.pid));
      if (!stopped) throw new CommandError(`worker kill: ${cmd.pid} is not a worker of this arbiter (pid ${target.pid})`);
      return { pid: cmd.pid, signal: "SIGTERM" };
    }
    case "reload":
      return target.command(["SIGHUP"], () => ({ generation: target.stats().arbiter.generation }));
    case "reopen":
      return target.command(["SIGUSR1"], () => ({ reopened: true }));
    case "shutdown":
      // The reply is queued before the signal, so it goes out before the arbiter stops.
      return new Promise((resolve, reject) => {
        target.command([], () => resolve({ shutdown: cmd.mode, pid: target.pid })).catch(reject);
        target.command([cmd.mode === "graceful" ? "SIGTERM" : "SIGQUIT"], () => undefined).catch(() => {});
      });
  }
  throw new CommandError("unknown command");
}
