/**
 * The gthread worker class with real bunicorn processes: N threads per worker process, each
 * serving (reuse-port and shared-socket), a stuck thread is terminated and replaced while the
 * process lives on, TERM finishes in-flight requests, app load failures halt the arbiter.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { freePort, get, killAll, sleep, startBunicorn, waitFor, type Bunicorn } from "../support/harness.ts";

const HERE = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const APP = `${HERE}/fixtures/thread-app.ts`;
const INTEGRATION_FIXTURES = `${HERE}/../integration/fixtures`;

afterEach(killAll);
afterAll(killAll);

interface Who {
  pid: number;
  thread: number;
  main: boolean;
}

async function who(port: number, timeoutMs = 3000): Promise<Who> {
  const res = await get(`http://127.0.0.1:${port}/who`, { timeoutMs, headers: { connection: "close" } });
  return (await res.json()) as Who;
}

/** `n` requests on fresh connections, a few at a time; the answers. */
async function sample(port: number, n: number): Promise<Who[]> {
  const out: Who[] = [];
  for (let i = 0; i < n; i += 4) out.push(...(await Promise.all([0, 1, 2, 3].map(() => who(port)))));
  return out;
}

/** Waits until the answers have come from `count` different threads of one process. */
async function expectThreads(b: Bunicorn, port: number, count: number): Promise<Set<number>> {
  const threads = new Set<number>();
  const pids = new Set<number>();
  await waitFor(`${count} threads answering`, async () => {
    for (const w of await sample(port, 12)) {
      expect(w.main).toBe(false);
      threads.add(w.thread);
      pids.add(w.pid);
    }
    return threads.size >= count;
  }, 8000, 0);
  expect(threads.size).toBe(count);
  expect([...pids]).toEqual(b.workers());
  return threads;
}

describe("gthread", () => {
  test("-k gthread --threads 2 -w 1: two threads answer; a throwing handler gets a plain 500", async () => {
    const port = await freePort();
    const b = await startBunicorn([APP, "-k", "gthread", "--threads", "2", "-w", "1", "-b", `127.0.0.1:${port}`]);
    expect(b.workers().length).toBe(1);
    await expectThreads(b, port, 2);
    const res = await get(`http://127.0.0.1:${port}/crash`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain("boom");
    expect(body).not.toContain("    at ");
    await b.waitForLog(/boom: secret thread internals/);
    expect(await b.stop()).toBe(0);
  });

  test("-w 1 --threads 2 with the default class gives gthread", async () => {
    const port = await freePort();
    const b = await startBunicorn([APP, "-w", "1", "--threads", "2", "-b", `127.0.0.1:${port}`]);
    await expectThreads(b, port, 2);
    expect(await b.stop()).toBe(0);
  });

  test("shared-socket mode (--no-reuse-port): every thread serves the inherited socket", async () => {
    const port = await freePort();
    const b = await startBunicorn([APP, "-k", "gthread", "--threads", "2", "-w", "1", "--no-reuse-port", "-b", `127.0.0.1:${port}`]);
    expect(b.output()).toMatch(/Using worker: gthread \(shared-socket mode\)/);
    await expectThreads(b, port, 2);
    expect(await b.stop()).toBe(0);
  });

  for (const mode of ["reuse-port", "shared-socket"] as const) {
    const outcome = mode === "shared-socket" ? "the thread is terminated and replaced, the pid stays" : "the worker process is killed and replaced (never an empty 204)";
    test(`${mode}: a stuck thread is found after -t 2; the other thread keeps serving meanwhile; ${outcome}`, async () => {
      const port = await freePort();
      const b = await startBunicorn([
        APP, "-k", "gthread", "--threads", "2", "-w", "1", "-t", "2",
        ...(mode === "shared-socket" ? ["--no-reuse-port"] : []),
        "-c", `${HERE}/fixtures/thread-hooks.config.ts`, "-b", `127.0.0.1:${port}`,
      ]);
      const [pid] = b.workers();
      await expectThreads(b, port, 2);
      // The request hooks run in the threads, with the thread's worker (same pid).
      await b.waitForLog(new RegExp(`pre_request ran in pid ${pid} for /`));
      const spin = get(`http://127.0.0.1:${port}/spin`, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      await sleep(300);
      // While one thread spins, the other serves. In reuse-port mode the kernel still hashes
      // some fresh connections to the stuck thread's socket: those wait (and may time out).
      const probes = await Promise.all(Array.from({ length: 16 }, () => who(port, 1200).catch(() => null)));
      const served = probes.filter((w): w is Who => w !== null);
      expect(served.length).toBeGreaterThan(mode === "shared-socket" ? 15 : 0);
      expect(new Set(served.map((w) => w.thread)).size).toBe(1);

      await b.waitForLog(new RegExp(`THREAD TIMEOUT \\(pid:${pid} thread:\\d+\\)`), 6000);
      await b.waitForLog(new RegExp(`worker_abort hook ran in pid ${pid}`), 2000);
      const spun = await spin;
      // The stuck request is never answered: its connection is closed or reset.
      expect(spun).toBeInstanceOf(Error);
      if (mode === "shared-socket") {
        // A new thread took the stuck one's place (slot ready lines: 2 at start + 1), and two
        // threads answer again, in the same process.
        await waitFor("a third thread ready", () => (b.output().match(/Thread \d+ \(slot \d\) ready/g) ?? []).length === 3, 5000);
        await expectThreads(b, port, 2);
        expect(b.workers()).toEqual([pid!]);
        expect(b.output()).not.toContain("WORKER TIMEOUT");
      } else {
        // Bun.serve would answer a terminated thread's request with an empty 204: the arbiter
        // kills the whole worker instead, like a timed-out one, and starts another.
        await b.waitForLog(new RegExp(`WORKER TIMEOUT \\(pid:${pid}\\): thread \\d+ stuck`), 3000);
        await waitFor("a new worker", () => b.workers().length === 1 && b.workers()[0] !== pid, 10_000);
        await expectThreads(b, port, 2);
        expect(b.output()).not.toContain("Perhaps out of memory");
      }
      expect(await b.stop()).toBe(0);
    }, 20_000);
  }

  test("TERM lets an in-flight slow request on a thread finish", async () => {
    const port = await freePort();
    const b = await startBunicorn([APP, "-k", "gthread", "--threads", "2", "-w", "1", "-b", `127.0.0.1:${port}`]);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=1500`, { timeoutMs: 8000 });
    await sleep(400);
    const exited = b.stop("SIGTERM", 10_000);
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^slow 1500 done by thread \d+$/);
    expect(await exited).toBe(0);
  });

  test("an app that cannot be imported halts the arbiter with exit 4", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${INTEGRATION_FIXTURES}/broken-import.ts`, "-k", "gthread", "--threads", "2", "-b", `127.0.0.1:${port}`], { ready: null });
    const code = await Promise.race([b.proc.exited, sleep(15_000).then(() => -1)]);
    expect(code).toBe(4);
    expect(b.output()).toContain("App failed to load.");
  });

  test("an app that loads on the main thread but fails in the threads halts the arbiter", async () => {
    const port = await freePort();
    const b = await startBunicorn([`${HERE}/fixtures/thread-only-broken.ts`, "-k", "gthread", "--threads", "2", "-b", `127.0.0.1:${port}`], { ready: null });
    const code = await Promise.race([b.proc.exited, sleep(15_000).then(() => -1)]);
    expect(b.output()).toContain("this app cannot be loaded in a thread");
    expect([3, 4]).toContain(code);
  });
});
