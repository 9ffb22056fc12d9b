/**
 * Reloads lose no keep-alive request (docs/design.md, "Graceful stop: keep-alive connections
 * drained"). A wrk-like keep-alive load (test/support/keepalive-load.ts: each connection sends its
 * next request as soon as the answer is in, and every request is counted) runs through each
 * reload kind: max_requests recycling, TTOU, HUP, and USR2 + WINCH + TERM of the old arbiter
 * (test/support/reload-kinds.ts). Shared-socket mode (TCP `--no-reuse-port` and `unix:` on one
 * server) loses none. Reuse-port mode loses none with `net.ipv4.tcp_migrate_req=1`, set inside a
 * private network namespace (`unshare -n`) so that the machine's own value is untouched; with 0,
 * the figure is printed: the connections queued on a closing SO_REUSEPORT socket are reset by the
 * kernel, which no server can prevent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tcpMigrateReq } from "../../src/os/index.ts";
import { FIXTURES, freePort, killAll, ROOT, startBunicorn } from "../support/harness.ts";
import { connect, parseAll } from "../support/http-client.ts";
import type { LoadCounts } from "../support/keepalive-load.ts";
import { RELOAD_KINDS, runReloadKinds, type ReloadRun } from "../support/reload-kinds.ts";

afterAll(killAll);

function report(title: string, run: ReloadRun): string {
  const kinds = RELOAD_KINDS.map((k) => {
    const per = Object.entries(run.counts[k]).map(([name, c]) => `${name} ${c.failed} of ${c.ok + c.failed}`);
    return `${k}: ${per.join(", ")}`;
  });
  return `keep-alive requests failed, ${title}: ${kinds.join("; ")} (${Math.round(run.ms)} ms)`;
}

/** Every kind, every target: none failed, each drained connection was told to close, every answer logged. */
function expectLossless(run: ReloadRun): void {
  let answered = 0;
  for (const kind of RELOAD_KINDS) {
    for (const [name, c] of Object.entries(run.counts[kind])) {
      expect({ kind, name, failed: c.failed, errors: c.errors }).toEqual({ kind, name, failed: 0, errors: [] });
      expect(c.ok).toBeGreaterThan(100);
      // HUP and USR2 stop every worker: each of the 8 connections was answered with
      // `Connection: close` by its stopping worker (and reconnected). (TTOU and max_requests stop
      // one worker at a time, which may hold none of a target's connections.)
      if (kind === "HUP" || kind === "USR2+WINCH+TERM") expect({ kind, name, closes: c.closes >= 8 }).toEqual({ kind, name, closes: true });
      answered += c.ok;
    }
  }
  expect(run.accessLines).toBe(answered);
}

describe("keep-alive clients lose nothing across reloads", () => {
  // The three runs go side by side (each is a few seconds of load and waits).
  let shared: Promise<ReloadRun>;
  let reusePort: Promise<{ runs: Record<number, ReloadRun>; netns: boolean }>;
  beforeAll(() => {
    shared = freePort().then((port) =>
      runReloadKinds({
        args: ["-b", `127.0.0.1:${port}`, "-b", "unix:DIR/s.sock", "--no-reuse-port"],
        targets: { tcp: port, unix: "unix" },
      }),
    );
    reusePort = reusePortRuns();
    // Awaited by the tests; a failure is reported there.
    shared.catch(() => {});
    reusePort.catch(() => {});
  });

  test("shared-socket mode (TCP --no-reuse-port and unix:): zero failed requests for every reload kind", async () => {
    const run = await shared;
    console.log(report("shared-socket mode", run));
    expectLossless(run);
  }, 60_000);

  test("reuse-port mode: zero failed requests with tcp_migrate_req=1; the figure with 0", async () => {
    const { runs, netns } = await reusePort;
    if (!netns) {
      // No private network namespace here (not root, or no unshare): the machine's own value.
      const [migrate, run] = Object.entries(runs)[0]!;
      console.log(report(`reuse-port mode, this machine's tcp_migrate_req=${migrate} (no private network namespace)`, run));
      if (migrate === "1") expectLossless(run);
      else expectFew(run);
      return;
    }
    console.log(report("reuse-port mode, tcp_migrate_req=1", runs[1]!));
    console.log(report("reuse-port mode, tcp_migrate_req=0", runs[0]!));
    expectLossless(runs[1]!);
    expectFew(runs[0]!);
  }, 90_000);
});

/** Reuse-port runs: tcp_migrate_req 1 and 0, each in its own network namespace; else one with the machine's value. */
async function reusePortRuns(): Promise<{ runs: Record<number, ReloadRun>; netns: boolean }> {
  if (await canUnshare()) {
    const [one, zero] = await Promise.all([inNetworkNamespace(1), inNetworkNamespace(0)]);
    return { runs: { 1: one, 0: zero }, netns: true };
  }
  const port = await freePort();
  const run = await runReloadKinds({ args: ["-b", `127.0.0.1:${port}`], targets: { "reuse-port": port } });
  return { runs: { [tcpMigrateReq() ?? 0]: run }, netns: false };
}

describe("a full stop: with nothing to take over, idle keep-alive connections close at once (as Gunicorn); with drain_delay they are drained", () => {
  for (const mode of ["reuse-port", "unix"] as const) {
    test(`${mode}: TERM; the idle connection is closed, not kept for a next request`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "bunicorn-ka-stop-"));
      const port = mode === "unix" ? 0 : await freePort();
      const sock = join(dir, "s.sock");
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", mode === "unix" ? `unix:${sock}` : `127.0.0.1:${port}`], { workers: 1 });
      try {
        const c = await connect(mode === "unix" ? { unix: sock } : port);
        c.write("GET /pid HTTP/1.1\r\nHost: x\r\n\r\n");
        await c.until((t) => parseAll(t).length === 1);
        const stopped = b.stop();
        // A drain would answer this (with Connection: close) for another second; nothing takes over, so it is closed.
        await Bun.sleep(120);
        expect(c.closed).toBe(true);
        expect(await stopped).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`${mode}: with drain_delay (a load balancer in front), TERM drains: a busy connection's next request is answered with Connection: close`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "bunicorn-ka-stop-"));
      const port = mode === "unix" ? 0 : await freePort();
      const sock = join(dir, "s.sock");
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "--drain-delay", "0.3", "-b", mode === "unix" ? `unix:${sock}` : `127.0.0.1:${port}`], { workers: 1 });
      try {
        const c = await connect(mode === "unix" ? { unix: sock } : port);
        const stopped = b.stop();
        // Busy (a request every 40 ms) through the delay and into the stop, until told to close.
        let n = 0;
        for (const end = Date.now() + 10_000; !c.closed && Date.now() < end; n++) {
          c.write(`GET /pid?n=${n} HTTP/1.1\r\nHost: x\r\n\r\n`);
          await c.until((t) => parseAll(t).length === n + 1 || c.closed, 3000);
          const r = parseAll(c.text, c.closed);
          expect({ request: n, answered: r.length === n + 1 }).toEqual({ request: n, answered: true });
          if (r[n]!.headers["connection"] === "close") break;
          await Bun.sleep(40);
        }
        const all = parseAll(c.text, true);
        expect(all.length).toBeGreaterThan(3);
        expect(all.at(-1)!.headers["connection"]).toBe("close");
        expect(all.slice(0, -1).every((r) => r.headers["connection"] === undefined)).toBe(true);
        await c.waitClosed(3000);
        expect(await stopped).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/** tcp_migrate_req=0: only the connections queued on a closing socket are lost: a few. */
function expectFew(run: ReloadRun): void {
  for (const kind of RELOAD_KINDS) {
    const c = run.counts[kind]["reuse-port"] as LoadCounts;
    expect(c.ok).toBeGreaterThan(100);
    expect(c.failed).toBeLessThanOrEqual(Math.max(10, c.ok / 100));
    expect(c.errors.every((e) => e.startsWith("closed after 0 bytes"))).toBe(true);
  }
}

/** Whether a private network namespace can be made here (root, and `unshare` installed). */
async function canUnshare(): Promise<boolean> {
  try {
    const probe = Bun.spawn(["unshare", "-n", "true"], { stdio: ["ignore", "ignore", "ignore"] });
    return (await Promise.race([probe.exited, Bun.sleep(5000).then(() => -1)])) === 0;
  } catch {
    return false;
  }
}

/** Runs the reuse-port reload kinds inside `unshare -n` with tcp_migrate_req set to `value` (test/integration/fixtures/netns-reload.ts). */
async function inNetworkNamespace(value: number): Promise<ReloadRun> {
  const proc = Bun.spawn(["unshare", "-n", process.execPath, `${ROOT}/test/integration/fixtures/netns-reload.ts`, String(value)], {
    cwd: ROOT,
    env: { ...process.env, BUNICORN_CMD_ARGS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 80_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const r = JSON.parse(line) as { migrate: number; run?: ReloadRun; error?: string };
    if (r.error !== undefined) throw new Error(`tcp_migrate_req=${r.migrate}: ${r.error}`);
    if (r.migrate === value) return r.run!;
  }
  throw new Error(`no result for tcp_migrate_req=${value}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`);
}
