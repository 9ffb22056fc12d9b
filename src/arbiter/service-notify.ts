/**
 * @module
 * What the arbiter tells its service manager through `sd_notify(3)` (`$NOTIFY_SOCKET`), as a
 * `Type=notify` or `Type=notify-reload` systemd service expects:
 *
 * - `READY=1` (with `STATUS=Serving with N workers` and `MAINPID=`) once the first generation
 *   has booted (nothing before it: a slow boot is what systemd's start timeout is for);
 * - `STATUS=Serving with N workers[, M booting]` whenever those counts change (a worker died or
 *   was added, TTIN/TTOU, a boot retried);
 * - on a reload (HUP, or `--reload`): `RELOADING=1` with `MONOTONIC_USEC=` (systemd 253+ needs
 *   it for `Type=notify-reload`), then `READY=1` once the new generation has booted; if its
 *   workers cannot boot while the old ones serve, `READY=1` with `STATUS=Reload failed: new
 *   workers cannot boot; serving with N workers` (the reload is over, the old generation stays;
 *   the status keeps saying so until the retried boots succeed);
 * - `STOPPING=1` when it starts to stop (TERM, INT, QUIT, or a halt);
 * - `WATCHDOG=1` every `WATCHDOG_USEC / 2` when `WATCHDOG_USEC` is set, and `WATCHDOG_PID` is
 *   unset or names this process, from the arbiter's event loop (a blocked loop stops the pings).
 *
 * Every message comes from the arbiter's final image: the `bunicorn` command re-executes itself
 * in place (same pid) before the arbiter exists, so nothing is sent by the first image, and
 * `NotifyAccess=main` is enough (under the npm launcher, `NotifyAccess=all`). A failed send is
 * logged once as a warning and otherwise ignored, as Gunicorn ignores it.
 */
import { NOTIFY_SOCKET_ENV, WATCHDOG_PID_ENV, WATCHDOG_USEC_ENV } from "../env-names.ts";
import { firstLine } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

/** systemd's protocol module, loaded only when `NOTIFY_SOCKET` is set. */
const systemd = (): typeof import("../net/systemd.ts") => require("../net/systemd.ts");

type Phase = "booting" | "serving" | "reloading" | "stopping";

const workers = (n: number) => `${n} worker${n === 1 ? "" : "s"}`;

/** The worker table as the notifier sees it. */
export interface WorkerCounts {
  /** Booted workers of the current generation, not stopping nor retiring. */
  ready: number;
  /** The worker count asked for. */
  target: number;
  /** Booted workers of any generation that are not stopping (they answer requests). */
  serving: number;
  /** Workers not booted yet and not stopping. */
  booting: number;
}

export class ServiceNotifier {
  private phase: Phase = "booting";
  /** A reload ended with new workers that cannot boot; cleared once they all have. */
  private reloadFailed = false;
  private lastStatus = "";
  private warned = false;
  private watchdog: ReturnType<typeof setInterval> | null = null;

  private constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly pid: number,
    /** The arbiter's current logger (HUP replaces it). */
    private readonly log: () => Logger,
  ) {}

  /** A notifier when `NOTIFY_SOCKET` is set, else null (nothing to tell). */
  static fromEnv(env: Record<string, string | undefined>, pid: number, log: () => Logger): ServiceNotifier | null {
    return env[NOTIFY_SOCKET_ENV] ? new ServiceNotifier(env, pid, log) : null;
  }

  private send(state: string): void {
    try {
      systemd().sdNotify(state, this.env);
    } catch (e) {
      if (!this.warned) this.log().warning("sd_notify failed (further failures are not logged): %s", firstLine(e));
      this.warned = true;
    }
  }

  /** `Serving with N workers[, M booting]`, prefixed by the failure while a failed reload's generation cannot boot. */
  private serving(pool: Pick<WorkerCounts, "serving" | "booting">): string {
    const counts = `with ${workers(pool.serving)}${pool.booting > 0 ? `, ${pool.booting} booting` : ""}`;
    return this.reloadFailed ? `Reload failed: new workers cannot boot; serving ${counts}` : `Serving ${counts}`;
  }

  private status(text: string): void {
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.send(`STATUS=${text}`);
  }

  private ready(text: string): void {
    this.phase = "serving";
    this.lastStatus = text;
    this.send(`READY=1\nSTATUS=${text}\nMAINPID=${this.pid}`);
  }

  /** At start, before the first worker is spawned: starts the watchdog pings. */
  start(): void {
    this.startWatchdog();
  }

  /**
   * After each pass over the worker table. Sends `READY=1` when a boot or a reload completes (the
   * current generation's workers are all ready), else a `STATUS=` line when the counts changed.
   */
  workers(pool: WorkerCounts): void {
    if (this.phase === "stopping") return;
    const done = pool.ready >= pool.target && pool.target > 0;
    if (this.phase === "booting" || this.phase === "reloading") {
      if (done) this.ready(this.serving(pool));
      return;
    }
    if (done) this.reloadFailed = false;
    this.status(this.serving(pool));
  }

  /** A reload starts: `RELOADING=1` with the monotonic clock. */
  reloading(): void {
    if (this.phase === "stopping") return;
    this.phase = "reloading";
    this.reloadFailed = false;
    const usec = systemd().monotonicUsec();
    this.lastStatus = "Reloading";
    this.send(`RELOADING=1${usec === null ? "" : `\nMONOTONIC_USEC=${usec}`}\nSTATUS=${this.lastStatus}`);
  }

  /** A new worker failed to boot; `serving` older ones still answer. Ends a reload as failed (`READY=1`, the failure in `STATUS=`). */
  bootFailed(serving: number): void {
    if (this.phase !== "reloading" || serving === 0) return;
    this.reloadFailed = true;
    this.ready(this.serving({ serving, booting: 0 }));
  }

  /** The arbiter starts to stop. */
  stopping(): void {
    if (this.phase === "stopping") return;
    this.phase = "stopping";
    this.lastStatus = "Stopping";
    this.send("STOPPING=1\nSTATUS=Stopping");
  }

  /** `WATCHDOG=1` every half `WATCHDOG_USEC`, when it is set for this process. */
  private startWatchdog(): void {
    if (this.watchdog !== null) return;
    const usec = Number(this.env[WATCHDOG_USEC_ENV]);
    const forPid = this.env[WATCHDOG_PID_ENV];
    if (!Number.isFinite(usec) || usec <= 0) return;
    if (forPid !== undefined && forPid !== "" && Number(forPid) !== this.pid) return;
    const every = Math.max(1, Math.floor(usec / 2000));
    this.send("WATCHDOG=1");
    this.watchdog = setInterval(() => this.send("WATCHDOG=1"), every);
    this.watchdog.unref();
  }

  /** Stops the watchdog pings (at exit). */
  close(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
  }
}
