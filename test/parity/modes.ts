/**
 * @module
 * The shared behaviour suite's modes: every case runs against each of them, with real bunicorn
 * processes and real clients. A feature is done when its cases pass in every mode (or bunicorn
 * refuses the combination at start with one `Error:` line, which is then the case).
 *
 * Use {@link forEachMode} in a `*.test.ts` file of this folder:
 *
 *     forEachMode("access log", { args: ["--access-logfile", "LOG"] }, (srv) => {
 *       test("a 200 is logged", async () => { const res = await srv().fetch("/"); ... });
 *     });
 */
import { afterAll, beforeAll, describe } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type RawConn } from "../support/http-client.ts";
import { freePort, killAll, ROOT, startBunicorn, waitFor, type Bunicorn } from "../support/harness.ts";

export interface Mode {
  /** As shown in test names. */
  readonly name: string;
  /** The listening mode the bind gets. */
  readonly listen: "reuse-port" | "shared-socket";
  /** Bound to a unix socket instead of 127.0.0.1. */
  readonly unix: boolean;
  /** `-k gthread --threads 2` instead of the default worker class. */
  readonly gthread: boolean;
}

export const MODES: readonly Mode[] = [
  { name: "reuse-port", listen: "reuse-port", unix: false, gthread: false },
  { name: "shared-socket", listen: "shared-socket", unix: false, gthread: false },
  { name: "unix", listen: "shared-socket", unix: true, gthread: false },
  { name: "gthread reuse-port", listen: "reuse-port", unix: false, gthread: true },
  { name: "gthread shared-socket", listen: "shared-socket", unix: false, gthread: true },
  { name: "gthread unix", listen: "shared-socket", unix: true, gthread: true },
];

/** The suite's default app. */
export const APP = `${ROOT}/test/parity/fixtures/app.ts`;

export interface ServeOptions {
  /** APP_MODULE (default {@link APP}). */
  app?: string;
  /** More arguments; `LOG` is replaced by the access log's path, `DIR` by a temp dir. */
  args?: string[];
  /** Workers (default 1). */
  workers?: number;
  /** Environment variables for bunicorn; `DIR` in a value is replaced by the temp dir. */
  env?: Record<string, string>;
}

export interface Served {
  readonly mode: Mode;
  readonly b: Bunicorn;
  /** `http://127.0.0.1:PORT` or, on a unix socket, `http://localhost`. */
  readonly base: string;
  /** TCP port (0 on a unix socket). */
  readonly port: number;
  /** The unix socket's path ("" on TCP). */
  readonly socketPath: string;
  /** A temp dir for the test's files, removed at the end. */
  readonly dir: string;
  /** `fetch(base + path)`, over the unix socket where the mode has one, with a 10 s bound. */
  fetch(path: string, init?: RequestInit & { timeoutMs?: number }): Promise<Response>;
  /** A raw connection (bounded waits), for what fetch hides. */
  connect(): Promise<RawConn>;
  /** The access log's lines so far (with `--access-logfile LOG`). */
  accessLines(): string[];
  /** Waits until the access log has at least `n` lines (lines are flushed within 50 ms). */
  waitAccessLines(n: number, timeoutMs?: number): Promise<string[]>;
}

/** Starts bunicorn in `mode`. */
export async function serve(mode: Mode, opts: ServeOptions = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-parity-"));
  const log = join(dir, "access.log");
  const port = mode.unix ? 0 : await freePort();
  const socketPath = mode.unix ? join(dir, "s.sock") : "";
  const workers = opts.workers ?? 1;
  const args = [opts.app ?? APP, "-w", String(workers), "-b", mode.unix ? `unix:${socketPath}` : `127.0.0.1:${port}`];
  if (mode.listen === "shared-socket" && !mode.unix) args.push("--no-reuse-port");
  if (mode.gthread) args.push("-k", "gthread", "--threads", "2");
  for (const a of opts.args ?? []) args.push(a.replace("LOG", log).replace("DIR", dir));
  const env = Object.fromEntries(Object.entries(opts.env ?? {}).map(([k, v]) => [k, v.replace("DIR", dir)]));
  const b = await startBunicorn(args, { workers, env });
  const base = mode.unix ? "http://localhost" : `http://127.0.0.1:${port}`;
  const accessLines = (): string[] => {
    try {
      return readFileSync(log, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  return {
    mode,
    b,
    base,
    port,
    socketPath,
    dir,
    fetch(path, init = {}) {
      const { timeoutMs = 10_000, ...rest } = init;
      return fetch(base + path, { ...rest, signal: AbortSignal.timeout(timeoutMs), ...(mode.unix ? { unix: socketPath } : {}) } as RequestInit);
    },
    connect: () => connect(mode.unix ? { unix: socketPath } : port),
    accessLines,
    waitAccessLines: (n, timeoutMs = 5000) => waitFor(`${n} access log lines`, () => (accessLines().length >= n ? accessLines() : null), timeoutMs, 20),
  };
}

/** Stops a served bunicorn (TERM) and removes its temp dir; returns the exit status. */
export async function stopServed(s: Served): Promise<number> {
  const code = await s.b.stop();
  rmSync(s.dir, { recursive: true, force: true });
  return code;
}

/**
 * One `describe` per mode, named `TITLE [MODE]`, with one bunicorn started for the whole block
 * (`srv()` inside the tests) and stopped after it.
 */
export function forEachMode(title: string, opts: ServeOptions, body: (srv: () => Served, mode: Mode) => void, modes: readonly Mode[] = MODES): void {
  for (const mode of modes) {
    describe(`${title} [${mode.name}]`, () => {
      let s: Served | null = null;
      beforeAll(async () => {
        s = await serve(mode, opts);
      });
      afterAll(async () => {
        if (s !== null) await stopServed(s);
        await killAll();
      });
      body(() => {
        if (s === null) throw new Error("bunicorn did not start");
        return s;
      }, mode);
    });
  }
}
