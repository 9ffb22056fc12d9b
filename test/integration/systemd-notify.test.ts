// sd_notify against a fake NOTIFY_SOCKET (the kernel tells us each sender's pid): READY=1 after
// the boot, STATUS= as the worker count changes, RELOADING=1 (with MONOTONIC_USEC) then READY=1
// on HUP, STOPPING=1 on TERM, WATCHDOG=1 at half WATCHDOG_USEC only when WATCHDOG_PID is unset
// or names the arbiter. Every message comes from the arbiter's own pid (the `bunicorn` command
// re-executes itself in place before the arbiter starts). Reuse-port TCP and a unix socket.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monotonicUsec } from "../../src/net/systemd.ts";
import { FIXTURES, freePort, get, killAll, startBunicorn, waitFor } from "../support/harness.ts";
import { notifyReceiver } from "../support/notify-receiver.ts";

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "bunicorn-notify-"));
  dirs.push(d);
  return d;
}

describe("sd_notify", () => {
  test("reuse-port TCP: READY, STATUS on TTIN, RELOADING + READY on HUP, STOPPING on TERM; WATCHDOG pings when WATCHDOG_PID is ours", async () => {
    const dir = tmp();
    const rx = notifyReceiver(join(dir, "notify.sock"));
    const port = await freePort();
    // The shell exports its own pid as WATCHDOG_PID, then execs bunicorn: the same pid, as
    // systemd sets WATCHDOG_PID to the main process's pid.
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`], {
      workers: 2,
      env: { NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: "300000" },
      prefix: ["sh", "-c", 'export WATCHDOG_PID=$$; exec "$@"', "sh"],
    });
    try {
      await rx.waitFor(/^READY=1/);
      b.signal("SIGTTIN");
      await rx.waitFor(/^STATUS=Serving with 3 workers$/);
      const before = monotonicUsec()!;
      const hupAt = rx.messages.length;
      b.signal("SIGHUP");
      const reloading = await rx.waitFor(/^RELOADING=1/, 10_000, hupAt);
      await rx.waitFor(/^READY=1/, 15_000, rx.messages.indexOf(reloading));
      await b.waitForLog(/Hang up: Master/);
      // Served after the reload. (A connection that lands in a retiring worker's accept queue as
      // it closes is reset while net.ipv4.tcp_migrate_req is 0: docs/signals.md; not this test's
      // subject, so a reset is tried again.)
      await waitFor("a 200 after the reload", async () => (await get(`http://127.0.0.1:${port}/pid`)).status === 200, 5000);
      await waitFor("6 watchdog pings", () => rx.messages.filter((m) => m.text === "WATCHDOG=1").length >= 6, 5000);
      expect(await b.stop()).toBe(0);
      rx.close();

      const states = rx.states().map((m) => m.text);
      expect(states).toEqual([
        `READY=1\nSTATUS=Serving with 2 workers\nMAINPID=${b.pid}`,
        "STATUS=Serving with 2 workers, 1 booting",
        "STATUS=Serving with 3 workers",
        expect.stringMatching(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=Reloading$/),
        // HUP re-reads the config: back to its 2 workers, as Gunicorn does.
        `READY=1\nSTATUS=Serving with 2 workers\nMAINPID=${b.pid}`,
        "STOPPING=1\nSTATUS=Stopping",
      ]);
      // MONOTONIC_USEC is CLOCK_MONOTONIC (systemd compares it with its own), read at the HUP.
      const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(states[3]!)![1]!);
      expect(usec).toBeGreaterThanOrEqual(before);
      expect(usec - before).toBeLessThan(5_000_000n);
      // Every message from the arbiter's pid: none from the first image or a worker.
      expect(new Set(rx.messages.map((m) => m.pid))).toEqual(new Set([b.pid]));
      // WATCHDOG=1 every 150 ms (half of 300 ms) for as long as it ran. Timed where they are
      // read, so with slack for a busy machine: at least half the pings due, none 1 s late.
      const pings = rx.messages.filter((m) => m.text === "WATCHDOG=1");
      const span = pings.at(-1)!.at - pings[0]!.at;
      expect(span).toBeGreaterThan(500);
      expect(pings.length).toBeGreaterThanOrEqual(Math.floor(span / 150 / 2));
      const gaps = pings.slice(1).map((p, i) => p.at - pings[i]!.at);
      expect(Math.max(...gaps)).toBeLessThan(1000);
    } finally {
      rx.close();
    }
  });

  test("unix socket: a reload whose workers cannot boot ends with READY=1 and 'Reload failed' while the old ones serve; no WATCHDOG for another WATCHDOG_PID", async () => {
    const dir = tmp();
    const rx = notifyReceiver(join(dir, "notify.sock"));
    const app = join(dir, "app.ts");
    copyFileSync(`${FIXTURES}/app.ts`, app);
    const sock = join(dir, "s.sock");
    const b = await startBunicorn([app, "-w", "1", "-b", `unix:${sock}`], {
      env: { NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: "200000", WATCHDOG_PID: "1" },
    });
    try {
      await rx.waitFor(/^READY=1/);
      // A broken deploy: the new generation cannot import the app.
      writeFileSync(app, 'throw new Error("broken deploy");\n');
      const hupAt = rx.messages.length;
      b.signal("SIGHUP");
      await rx.waitFor(/^READY=1\nSTATUS=Reload failed/, 10_000, hupAt);
      // The old worker still answers.
      expect((await get("http://localhost/pid", { unix: sock })).status).toBe(200);
      expect(await b.stop()).toBe(0);
      rx.close();
      const texts = rx.messages.map((m) => m.text);
      expect(texts.slice(0, 3)).toEqual([
        `READY=1\nSTATUS=Serving with 1 worker\nMAINPID=${b.pid}`,
        expect.stringMatching(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=Reloading$/),
        `READY=1\nSTATUS=Reload failed: new workers cannot boot; serving with 1 worker\nMAINPID=${b.pid}`,
      ]);
      expect(texts.at(-1)).toBe("STOPPING=1\nSTATUS=Stopping");
      // In between, only the retried boots (every 0.5 s, 1 s...) while the old worker serves.
      for (const t of texts.slice(3, -1)) expect(t).toMatch(/^STATUS=Reload failed: new workers cannot boot; serving with 1 worker(, 1 booting)?$/);
      expect(new Set(rx.messages.map((m) => m.pid))).toEqual(new Set([b.pid]));
    } finally {
      rx.close();
    }
  });
});
