/**
 * @module
 * @internal Starts real bunicorn processes for integration tests and watches them: every wait
 * is bounded by a timeout.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Subprocess } from "bun";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const CLI = `${ROOT}/cli/bunicorn.ts`;
export const FIXTURES = `${ROOT}/test/integration/fixtures`;

/** A free TCP port on 127.0.0.1 (outside the ephemeral range is not guaranteed; good enough for loopback tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await sleep(everyMs);
  }
}

/** The direct children of a process (from /proc). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export interface Bunicorn {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  /** Everything written to stderr and stdout so far. */
  output(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Worker pids (children of the arbiter). */
  workers(): number[];
  signal(sig: NodeJS.Signals): void;
  /** TERM (or the given signal), then wait for exit; SIGKILL the whole group if it hangs. */
  stop(sig?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

const running = new Set<Bunicorn>();

/** Starts `bunicorn ARGS` and waits for `readyPattern` (default: N workers booted) in its log. */
export async function startBunicorn(
  args: string[],
  opts: {
    /** Added to the environment; `undefined` removes a variable (e.g. the harness's BUNICORN_LOGLEVEL). */
    env?: Record<string, string | undefined>;
    cwd?: string;
    ready?: RegExp | null;
    workers?: number;
    timeoutMs?: number;
    /** A command that runs bunicorn by `exec "$@"` (so the pid stays bunicorn's), e.g. a shell setting a variable to its own pid. */
    prefix?: string[];
  } = {},
): Promise<Bunicorn> {
  let out = "";
  const proc = Bun.spawn([...(opts.prefix ?? []), process.execPath, CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: Object.fromEntries(Object.entries({ ...process.env, BUNICORN_CMD_ARGS: "", BUNICORN_LOGLEVEL: "debug", ...opts.env }).filter(([, v]) => v !== undefined)) as Record<string, string>,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) out += dec.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const b: Bunicorn = {
    proc,
    pid: proc.pid,
    output: () => out,
    async waitForLog(pattern, timeoutMs = 10_000) {
      return waitFor(`log line ${pattern}`, () => out.match(pattern), timeoutMs).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- output ---\n${out}`);
      });
    },
    workers: () => childPids(proc.pid),
    signal: (sig) => {
      try {
        process.kill(proc.pid, sig);
      } catch {}
    },
    async stop(sig = "SIGTERM", timeoutMs = 15_000) {
      const workers = childPids(proc.pid);
      b.signal(sig);
      const t = setTimeout(() => {
        try {
          proc.kill("SIGKILL");
        } catch {}
        for (const w of workers) {
          try {
            process.kill(w, "SIGKILL");
          } catch {}
        }
      }, timeoutMs);
      const code = await proc.exited;
      clearTimeout(t);
      running.delete(b);
      return code;
    },
  };
  running.add(b);
  const workers = opts.workers ?? 1;
  if (opts.ready !== null) {
    if (opts.ready) await b.waitForLog(opts.ready, opts.timeoutMs ?? 15_000);
    else await waitFor(`${workers} workers booted`, () => countBooted(b) >= workers, opts.timeoutMs ?? 15_000);
  }
  return b;
}

/** Workers that reported ready (the arbiter logs it at debug level; the harness sets BUNICORN_LOGLEVEL=debug). */
export function countBooted(b: Bunicorn): number {
  const pids = new Set(childPids(b.pid));
  return [...b.output().matchAll(/Worker \(pid:(\d+)\) booted/g)].filter((m) => pids.has(Number(m[1]))).length;
}

/** Kills anything a failed test left running. */
export async function killAll(): Promise<void> {
  for (const b of running) {
    for (const w of childPids(b.pid)) {
      try {
        process.kill(w, "SIGKILL");
      } catch {}
    }
    try {
      b.proc.kill("SIGKILL");
    } catch {}
    await b.proc.exited;
  }
  running.clear();
}

/** GET with a timeout; resolves to the Response or throws. */
export async function get(url: string, init: RequestInit & { unix?: string; timeoutMs?: number } = {}): Promise<Response> {
  const { timeoutMs = 5000, ...rest } = init;
  return fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs), keepalive: false } as RequestInit);
}

/** Waits until `url` answers 200. */
export async function waitForHttp(url: string, timeoutMs = 10_000, unix?: string): Promise<void> {
  await waitFor(`${url} to answer`, async () => (await get(url, unix ? { unix } : {})).status === 200, timeoutMs, 50);
}
