// Shared behaviour suite: request-body timeouts (body_timeout, body_min_rate) and the head
// timeout, the same in every mode. Small values keep each case to a few seconds; the last case
// runs the defaults in all six modes at once.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, parseResponse, type RawConn } from "../support/http-client.ts";
import { killAll, ROOT, waitFor } from "../support/harness.ts";
import { forEachMode, MODES, serve, stopServed, type Served } from "./modes.ts";

const APP = `${ROOT}/test/parity/fixtures/upload-app.ts`;
const ENV = { UPLOAD_LOG: "DIR/uploads.log" };

const head = (path: string, length: number) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`;

/** What the app noted about its reads (fixtures/upload-app.ts). */
function uploads(s: Served): string[] {
  try {
    return readFileSync(join(s.dir, "uploads.log"), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** GET / every 300 ms until `done` settles; the statuses (a failed fetch is 0). */
async function normalClient(s: Served, done: Promise<unknown>): Promise<number[]> {
  let over = false;
  done.then(
    () => (over = true),
    () => (over = true),
  );
  const statuses: number[] = [];
  while (!over) {
    statuses.push(await s.fetch("/", { timeoutMs: 3000 }).then((r) => r.status, () => 0));
    await Bun.sleep(300);
  }
  return statuses;
}

/** Sends one byte every `ms` until the connection closes (or `max` bytes). */
function trickle(c: RawConn, ms: number, max: number): () => void {
  let sent = 0;
  const t = setInterval(() => {
    if (c.closed || sent >= max) return clearInterval(t);
    c.write("a");
    sent++;
  }, ms);
  return () => clearInterval(t);
}

/** Waits for the server to close `c`; the seconds it took since `t0`. */
async function closedAfter(c: RawConn, t0: number, ms: number): Promise<number> {
  await c.waitClosed(ms);
  return (performance.now() - t0) / 1000;
}

forEachMode("body timeouts", { app: APP, env: ENV, args: ["--body-timeout", "2", "--body-min-rate", "200", "--access-logfile", "LOG"] }, (srv) => {
  test("a stalled body (10 of 1000 bytes, then silence) gets a 408 and a close after body_timeout; a normal client is served meanwhile", async () => {
    const s = srv();
    const c = await s.connect();
    const t0 = performance.now();
    c.write(head("/upload", 1000) + "0123456789");
    const closed = closedAfter(c, t0, 9000);
    const statuses = normalClient(s, closed);
    const dt = await closed;
    expect(dt).toBeGreaterThan(1.9);
    // body_timeout, the 1 s sweep, and slack (Bun's 4 s tick is only for an app that holds on).
    expect(dt).toBeLessThan(6);
    const r = parseResponse(c.text, true)!;
    expect(r.status).toBe(408);
    expect(r.headers["connection"]).toBe("close");
    expect(await statuses).not.toContain(0);
    expect(new Set(await statuses)).toEqual(new Set([200]));
    // Logged as what went on the wire (lines are flushed within 50 ms).
    await waitFor("the 408's access line", () => s.accessLines().some((l) => l.includes('"POST /upload HTTP/1.1" 408 ')), 3000);
  }, 15_000);

  test("a stalled streamed body (4 MiB announced) fails the app's read with RequestTimeout, and the client gets a 408", async () => {
    const s = srv();
    const earlier = uploads(s).length;
    for (const path of ["/upload", "/upload-stream"]) {
      const c = await s.connect();
      const t0 = performance.now();
      c.write(head(path, 4 * 1024 * 1024) + "x".repeat(70_000));
      const dt = await closedAfter(c, t0, 9000);
      expect(dt).toBeGreaterThan(1.9);
      expect(dt).toBeLessThan(6);
      expect(parseResponse(c.text, true)!.status).toBe(408);
    }
    await waitFor("the app's notes", () => uploads(s).length >= earlier + 2, 3000);
    expect(uploads(s).slice(earlier)).toEqual(["failed RequestTimeout", "failed RequestTimeout"]);
  }, 20_000);

  test("a body trickling at 5 bytes/s is cut by body_min_rate, though it never pauses for body_timeout", async () => {
    const s = srv();
    const c = await s.connect();
    const t0 = performance.now();
    c.write(head("/upload", 1000));
    const stop = trickle(c, 200, 1000);
    try {
      // Overdue once waited > 2 s + received / 200 (about 2.05 s here), plus the sweep's second.
      const dt = await closedAfter(c, t0, 9000);
      expect(dt).toBeGreaterThan(1.9);
      expect(dt).toBeLessThan(6);
    } finally {
      stop();
    }
    expect(parseResponse(c.text, true)!.status).toBe(408);
  }, 15_000);

  test("a body arriving at twice body_min_rate for 3 s is received whole", async () => {
    const s = srv();
    const c = await s.connect();
    c.write(head("/upload", 1200));
    for (let i = 0; i < 12; i++) {
      await Bun.sleep(250);
      c.write("b".repeat(100));
    }
    const r = parseResponse(await c.until((t) => parseResponse(t) !== null, 4000))!;
    expect(r.status).toBe(200);
    expect(r.body).toBe("read 1200");
    c.end();
  }, 15_000);

  test("every way of reading a body gives what it gives without a watch: text, json, arrayBuffer, bytes, blob, formData, the stream; bodyUsed; a second read fails", async () => {
    const s = srv();
    const big = new Uint8Array(70_000).fill(7);
    const form = new FormData();
    form.append("a", "1");
    form.append("f", new Blob(["xyz"]), "f.txt");
    const cases: [string, string | Uint8Array | FormData, Record<string, string>, unknown][] = [
      ["text", "héllo", {}, "héllo"],
      ["json", '{"a":[1,2]}', { "content-type": "application/json" }, { a: [1, 2] }],
      ["arrayBuffer", big, {}, 70_000],
      ["bytes", "hello", {}, "Uint8Array 5"],
      ["blob", "hello", { "content-type": "image/png" }, "image/png 5"],
      ["formData", form, {}, ["a=1", "f:f.txt:3"]],
      ["formData", "a=1&b=2", { "content-type": "application/x-www-form-urlencoded" }, ["a=1", "b=2"]],
      ["stream", big, {}, 70_000],
    ];
    for (const [how, body, headers, got] of cases) {
      const res = await s.fetch(`/read?how=${how}`, { method: "POST", body, headers });
      const seen: Record<string, unknown> = { how, ...((await res.json()) as object) };
      expect(seen).toEqual({ how, got, usedBefore: false, usedAfter: true, again: "TypeError" });
    }
  });

  test("a slow handler keeps its time: 3 s after reading its body, or 3 s before reading it", async () => {
    const s = srv();
    const t0 = performance.now();
    const after = await s.fetch("/upload?after=3000", { method: "POST", body: "x".repeat(5000) });
    expect(await after.text()).toBe("read 5000");
    expect(performance.now() - t0).toBeGreaterThan(2900);
    const big = new Uint8Array(3 * 1024 * 1024).fill(122);
    const before = await s.fetch("/upload?before=3000", { method: "POST", body: big });
    expect(await before.text()).toBe(`read ${big.length}`);
  }, 15_000);
});

forEachMode("body timeouts and worker_connections", { app: APP, env: ENV, args: ["--body-timeout", "2", "--worker-connections", "50"] }, (srv) => {
  test("stalled uploads beyond worker_connections hold it only until body_timeout: then a normal client is served again", async () => {
    const s = srv();
    const conns: RawConn[] = [];
    const open = (n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const c = await s.connect();
          c.write(head("/upload", 1000) + "0123456789");
          conns.push(c);
        }),
      );
    const probe = () => s.fetch("/", { timeoutMs: 2000 }).then((r) => r.status, () => 0);
    // 200 at once, and more while a normal client still finds a free slot (a gthread worker's
    // two threads need not accept evenly): then they hold every slot.
    await open(200);
    let last = performance.now();
    let full = false;
    while (!full && conns.length < 600) {
      await Bun.sleep(200);
      full = (await probe()) === 503;
      if (!full) {
        await open(50);
        last = performance.now();
      }
    }
    expect(full).toBe(true);
    // Within body_timeout and the sweep's second (plus slack) of the last one, the slots are free again.
    let served = 0;
    while (served === 0 && performance.now() - last < 6000) {
      if ((await probe()) === 200) served = performance.now() - last;
      else await Bun.sleep(100);
    }
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(6000);
    // Every one was answered (408 once cut, or 503 beyond worker_connections) and closed.
    await Promise.all(conns.map((c) => c.waitClosed(9000)));
    const statuses = new Set(conns.map((c) => parseResponse(c.text, true)?.status));
    expect([...statuses].every((st) => st === 408 || st === 503)).toBe(true);
    expect(statuses.has(408)).toBe(true);
  }, 20_000);
});

test("the defaults, in all six modes at once: a head trickling for ~10 s, a stalled body and a body at 1 byte/s are cut within 45 s; a normal client is served throughout", async () => {
  const servers = await Promise.all(MODES.map((mode) => serve(mode, { app: APP, env: ENV })));
  try {
    await Promise.all(
      servers.map(async (s) => {
        const t0 = performance.now();
        const headConn = await s.connect();
        headConn.write("GET / HTTP/1.1\r\n");
        const stopHead = trickle(headConn, 500, 200);
        const stalled = await s.connect();
        stalled.write(head("/upload", 1000) + "0123456789");
        const slow = await s.connect();
        slow.write(head("/upload", 1000));
        const stopSlow = trickle(slow, 1000, 1000);
        const all = Promise.all([closedAfter(headConn, t0, 45_000), closedAfter(stalled, t0, 45_000), closedAfter(slow, t0, 45_000)]);
        const statuses = normalClient(s, all);
        const [headDt, stalledDt, slowDt] = await all.finally(() => {
          stopHead();
          stopSlow();
        });
        const where = `${s.mode.name}: head ${headDt.toFixed(1)} s, stalled ${stalledDt.toFixed(1)} s, 1 byte/s ${slowDt.toFixed(1)} s`;
        // The head: ~10 s in both engines (Bun's own limit; the engine's headerTimeout).
        expect({ where, ok: headDt > 8 && headDt < 16 }).toEqual({ where, ok: true });
        expect(headConn.text).not.toContain("200 OK");
        // The bodies: body_timeout 20 s; the trickle is overdue at ~20.04 s (body_min_rate 500).
        for (const [dt, c] of [
          [stalledDt, stalled],
          [slowDt, slow],
        ] as const) {
          expect({ where, ok: dt > 19.5 && dt < 26 }).toEqual({ where, ok: true });
          expect(parseResponse(c.text, true)?.status).toBe(408);
        }
        expect({ where, statuses: new Set(await statuses) }).toEqual({ where, statuses: new Set([200]) });
      }),
    );
  } finally {
    await Promise.all(servers.map((s) => stopServed(s)));
    await killAll();
  }
}, 90_000);
