/**
 * The arbiter keeps the pool: -w 3 gives 3 processes, TTIN/TTOU change the count, kill -9 is
 * healed, a hung worker is killed after `timeout`, a crashing handler gets a 500.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { countBooted, FIXTURES, freePort, get, killAll, startBunicorn, waitFor, waitForHttp } from "../support/harness.ts";

afterEach(killAll);
afterAll(killAll);

describe("worker pool", () => {
  test("-w 3 gives 3 workers; TTIN adds one, TTOU removes one; kill -9 is replaced", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "3", "-b", `127.0.0.1:${port}`], { workers: 3 });
    expect(b.workers().length).toBe(3);
    await waitForHttp(`http://127.0.0.1:${port}/`);

    b.signal("SIGTTIN");
    await waitFor("4 workers", () => b.workers().length === 4 && countBooted(b) === 4);
    b.signal("SIGTTOU");
    await waitFor("3 workers", () => b.workers().length === 3, 10_000);

    const victim = b.workers()[0]!;
    process.kill(victim, "SIGKILL");
    await b.waitForLog(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL! Perhaps out of memory\\?`));
    await waitFor("a replacement", () => {
      const now = b.workers();
      return now.length === 3 && !now.includes(victim) && countBooted(b) === 3;
    });
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(await b.stop()).toBe(0);
  });

  test("a hung worker is killed after timeout and replaced", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-t", "2", "-b", `127.0.0.1:${port}`], { workers: 1 });
    const [hung] = b.workers();
    // The request never gets an answer: the worker's loop is stuck.
    const spin = get(`http://127.0.0.1:${port}/spin`, { timeoutMs: 15_000 }).catch((e) => e);
    await b.waitForLog(new RegExp(`WORKER TIMEOUT \\(pid:${hung}\\)`), 8000);
    await waitFor("the hung worker to be replaced", () => b.workers().length === 1 && b.workers()[0] !== hung && countBooted(b) === 1, 8000);
    await waitForHttp(`http://127.0.0.1:${port}/`);
    expect(await spin).toBeInstanceOf(Error);
    expect(await b.stop()).toBe(0);
  }, 30_000);

  test("a crashing handler gives that client a plain 500 and the worker keeps serving", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`], { workers: 1 });
    const pid = b.workers()[0];
    const res = await get(`http://127.0.0.1:${port}/crash`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain("boom");
    expect(body).not.toContain("    at ");
    expect(await (await get(`http://127.0.0.1:${port}/pid`)).text()).toBe(String(pid));
    await b.waitForLog(/boom: secret internals/);
    expect(await b.stop()).toBe(0);
  });
});

describe("boot failures", () => {
  test("an app that cannot be imported halts the arbiter with exit 4, no crash loop", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/broken-import.ts`, "-w", "2", "-b", `127.0.0.1:${port}`], { ready: null });
    const code = await Promise.race([b.proc.exited, Bun.sleep(15_000).then(() => -1)]);
    expect(code).toBe(4);
    expect(b.output()).toContain("App failed to load.");
    expect((b.output().match(/Booting worker with pid/g) ?? []).length).toBeLessThanOrEqual(2);
  });

  test("a value that is not an app: exit 4 with a clear reason", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/not-an-app.ts:app`, "-b", `127.0.0.1:${port}`], { ready: null });
    const code = await Promise.race([b.proc.exited, Bun.sleep(15_000).then(() => -1)]);
    expect(code).toBe(4);
    expect(b.output()).toMatch(/not a fetch function or an object with a fetch method/);
  });

  test("port already in use: one clear error line, non-zero exit, no worker started", async () => {
    const port = await freePort();
    const holder = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("other") });
    try {
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`], { ready: null });
      const code = await Promise.race([b.proc.exited, Bun.sleep(10_000).then(() => -1)]);
      expect(code).toBe(1);
      const errors = b.output().split("\n").filter((l) => /\[ERROR\]|Error:/.test(l));
      expect(errors.length).toBe(1);
      expect(errors[0]).toMatch(new RegExp(`Connection in use.*${port}`));
      expect(b.output()).not.toContain("Booting worker");
    } finally {
      holder.stop(true);
    }
  });
});
