// Every kind of graceful worker stop under a keep-alive load, against one daemonized bunicorn
// (daemonized so that WINCH stops the old arbiter's workers, as in Gunicorn's upgrade recipe):
// max_requests recycling (on all along), TTOU, HUP, then USR2 + WINCH + TERM of the old arbiter.
// Each kind gets its own loads and counts (test/support/keepalive-load.ts). Every wait is
// bounded. Used by test/integration/keepalive-reload.test.ts, in-process and inside a private
// network namespace (test/integration/fixtures/netns-reload.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childPids, CLI, FIXTURES, isAlive, ROOT, sleep, waitFor } from "./harness.ts";
import { startKeepAliveLoad, type LoadCounts } from "./keepalive-load.ts";

export const RELOAD_KINDS = ["max_requests", "TTOU", "HUP", "USR2+WINCH+TERM"] as const;
export type ReloadKind = (typeof RELOAD_KINDS)[number];

export interface ReloadRun {
  /** Each kind's load counts, by target name. */
  counts: Record<ReloadKind, Record<string, LoadCounts>>;
  /** The access log's lines (one per answered request, the drained ones included). */
  accessLines: number;
  /** How long the run took, in ms. */
  ms: number;
}

export interface ReloadOptions {
  /** `-b` and mode arguments, e.g. `["-b", "unix:DIR/s.sock"]` (`DIR`: the run's temp dir). */
  args: string[];
  /** Where the loads connect, by name (each gets its own load): a TCP port, or `unix` for the socket `DIR/s.sock`. */
  targets: Record<string, number | "unix">;
  /** Load per kind once its event has happened, in ms (default 300). */
  afterMs?: number;
}

const WORKERS = 3;

/** Runs every reload kind against one daemonized bunicorn; kills whatever is left at the end. */
export async function runReloadKinds(opts: ReloadOptions): Promise<ReloadRun> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-ka-reload-"));
  const pidfile = join(dir, "app.pid");
  const logfile = join(dir, "error.log");
  const access = join(dir, "access.log");
  const targets = Object.entries(opts.targets).map(([name, t]) => [name, t === "unix" ? { unix: join(dir, "s.sock") } : t] as const);
  const afterMs = opts.afterMs ?? 300;
  const args = [
    `${FIXTURES}/app.ts`,
    ...opts.args.map((a) => a.replace("DIR", dir)),
    "-w",
    String(WORKERS),
    "-D",
    "-p",
    pidfile,
    "--error-logfile",
    logfile,
    "--log-level",
    "debug",
    "--access-logfile",
    access,
    "--access-logformat",
    "%(s)s %(U)s",
    // Recycling all along: each worker retires after 2500-3500 requests.
    "--max-requests",
    "2500",
    "--max-requests-jitter",
    "1000",
  ];
  const log = () => {
    try {
      return readFileSync(logfile, "utf8");
    } catch {
      return "";
    }
  };
  const pids = new Set<number>();
  const lines = (re: RegExp) => [...log().matchAll(re)];
  const booted = (arbiter: number) => lines(new RegExp(`\\[${arbiter}\\] \\[DEBUG\\] Worker \\(pid:(\\d+)\\) booted`, "g")).map((m) => Number(m[1]));
  /** The arbiter's live workers that have booted. */
  const live = (arbiter: number) => {
    const kids = childPids(arbiter);
    for (const k of kids) pids.add(k);
    const b = new Set(booted(arbiter));
    return kids.filter((k) => b.has(k) && isAlive(k));
  };
  const wait = <T>(what: string, f: () => T, ms = 20_000) =>
    waitFor(what, f, ms, 20).catch((e) => {
      // The arbiters' own lines, then the end of the log.
      const arbiterLines = log()
        .split("\n")
        .filter((l) => !/Booting worker|booted|Autorestarting|exiting|exited with/.test(l));
      throw new Error(`${(e as Error).message}\n--- ${logfile}, arbiter lines ---\n${arbiterLines.slice(-40).join("\n")}\n--- last lines ---\n${log().slice(-1500)}`);
    });

  const launcher = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const launched = await launcher.exited;
  if (launched !== 0) throw new Error(`bunicorn -D exited ${launched}: ${await new Response(launcher.stderr).text()}`);
  let arbiter = await wait("the pidfile", () => (existsSync(pidfile) ? Number(readFileSync(pidfile, "utf8").trim()) : 0));
  pids.add(arbiter);
  const counts = {} as Record<ReloadKind, Record<string, LoadCounts>>;
  try {
    await wait(`${WORKERS} workers booted`, () => live(arbiter).length >= WORKERS);

    const underLoad = async (kind: ReloadKind, event: () => Promise<void>) => {
      const loads = targets.map(([name, t]) => [name, startKeepAliveLoad(t, { connections: 8, path: "/pid" })] as const);
      await sleep(200);
      await event();
      await sleep(afterMs);
      counts[kind] = Object.fromEntries(await Promise.all(loads.map(async ([name, l]) => [name, await l.stop()] as const)));
    };

    // max_requests: two workers retire and exit (the pool is recycled all along; this load only
    // waits for two complete recycles).
    await underLoad("max_requests", async () => {
      const retired = () => lines(/\[(\d+)\] \[INFO\] Autorestarting worker/g).map((m) => Number(m[1]));
      const exited = () => new Set(lines(/Worker exiting \(pid: (\d+)\)/g).map((m) => Number(m[1])));
      await wait("two workers recycled by max_requests", () => {
        const gone = exited();
        return retired().filter((p) => gone.has(p)).length >= 2;
      });
    });

    // TTOU: one worker fewer.
    await underLoad("TTOU", async () => {
      const ttou = lines(/Handling signal: ttou/g).length;
      process.kill(arbiter, "SIGTTOU");
      await wait("TTOU handled", () => lines(/Handling signal: ttou/g).length > ttou);
      await wait(`${WORKERS - 1} workers`, () => childPids(arbiter).length === WORKERS - 1);
    });

    // HUP: a new generation, the old one retired once it is ready.
    await underLoad("HUP", async () => {
      const before = live(arbiter);
      process.kill(arbiter, "SIGHUP");
      await wait("the old generation retired", () => {
        const now = live(arbiter);
        return now.length >= WORKERS - 1 && before.every((p) => !isAlive(p));
      });
    });

    // USR2: a new arbiter alongside; WINCH stops the old one's workers; TERM ends it.
    await underLoad("USR2+WINCH+TERM", async () => {
      const old = arbiter;
      process.kill(old, "SIGUSR2");
      const m = await wait("the new arbiter", () => log().match(new RegExp(`\\[${old}\\] \\[INFO\\] Started new arbiter with pid: (\\d+)`)));
      arbiter = Number(m[1]);
      pids.add(arbiter);
      await wait("the new arbiter's workers", () => live(arbiter).length >= WORKERS);
      // The new arbiter is the old one's child too.
      const oldWorkers = () => childPids(old).filter((p) => p !== arbiter);
      const stopping = oldWorkers();
      process.kill(old, "SIGWINCH");
      await wait("the old workers stopped", () => stopping.every((p) => !isAlive(p)) && oldWorkers().length === 0);
      process.kill(old, "SIGTERM");
      await wait("the old arbiter exited", () => !isAlive(old));
    });
    // The last arbiter stops; its workers flush their access lines as they exit.
    process.kill(arbiter, "SIGTERM");
    await wait("the last arbiter to exit", () => !isAlive(arbiter), 10_000);
    const accessLog = readFileSync(access, "utf8").split("\n").filter(Boolean);
    return { counts, accessLines: accessLog.length, ms: performance.now() - t0 };
  } finally {
    // Anything a failure left behind.
    if (isAlive(arbiter)) {
      process.kill(arbiter, "SIGTERM");
      await waitFor("the arbiter to exit", () => !isAlive(arbiter), 10_000, 20).catch(() => {});
    }
    for (const p of pids) {
      try {
        if (isAlive(p)) process.kill(p, "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
