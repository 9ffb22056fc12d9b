// Request-body timeouts (body_timeout, body_min_rate): the clock's rule, and the engine's cuts.
import { afterEach, describe, expect, test } from "bun:test";
import { BodyClock, bodyPolicy } from "../../src/http/body-timeout.ts";
import { connect, parseResponse } from "../support/http-client.ts";
import { start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

describe("BodyClock", () => {
  const policy = bodyPolicy(20, 500)!;

  test("off when both settings are 0", () => {
    expect(bodyPolicy(0, 0)).toBeNull();
    expect(bodyPolicy(0, 10)).toEqual({ timeoutMs: 0, minRate: 10 });
  });

  test("a pause: overdue body_timeout after the last byte, and only while waiting", () => {
    const c = new BodyClock(policy);
    expect(c.update(1000, 0, false)).toBe(0);
    expect(c.update(2000, 0, true)).toBe(22_000);
    // A byte restarts the pause (a fast body: the rate's deadline is far later)...
    expect(c.update(5000, 100_000, true)).toBe(25_000);
    // ...while 10 bytes in 3 s of waiting are overdue by the rate 20.02 s after the wait began.
    const slow = new BodyClock(policy);
    slow.update(2000, 0, true);
    expect(slow.update(5000, 10, true)).toBe(22_020);
    // Not waiting (the app does not read): no deadline; waiting again restarts the pause.
    expect(c.update(6000, 100_000, false)).toBe(0);
    expect(c.deadline()).toBe(0);
    expect(c.update(60_000, 100_000, true)).toBe(80_000);
  });

  test("a trickle at 1 byte/s is overdue just after the grace; a body at the minimum rate never", () => {
    const slow = new BodyClock(policy);
    slow.update(0.001, 0, true);
    let cut = -1;
    for (let t = 1; t <= 45 && cut < 0; t++) {
      const d = slow.update(t * 1000, t, true);
      if (d <= t * 1000) cut = t;
      // Never cut by the pause rule: a byte every second.
      expect(d).toBeLessThan(t * 1000 + 20_000);
    }
    expect(cut).toBe(21);
    const ok = new BodyClock(policy);
    ok.update(0.001, 0, true);
    for (let t = 1; t <= 120; t++) expect(ok.update(t * 1000, t * 500, true)).toBeGreaterThan(t * 1000);
  });

  test("only time spent waiting counts toward the rate", () => {
    const c = new BodyClock(bodyPolicy(1, 100)!);
    c.update(1000, 0, true);
    c.update(1500, 0, false);
    // 60 s without waiting (the app did not read) are not held against the body: 0.5 s of
    // waiting so far, so the rate's deadline (grace 1 s, nothing received) is 0.5 s away.
    expect(c.update(61_500, 0, true)).toBe(62_000);
    c.reset();
    expect(c.deadline()).toBe(0);
  });
});

/** An app that reads its body and says how that went. */
function reader(pre = 0, post = 0) {
  const seen: string[] = [];
  const fetch = async (req: Request) => {
    if (pre > 0) await Bun.sleep(pre);
    try {
      const n = (await req.arrayBuffer()).byteLength;
      if (post > 0) await Bun.sleep(post);
      seen.push(`read ${n}`);
      return new Response(`read ${n}`);
    } catch (e) {
      seen.push(`failed ${(e as Error).name}`);
      throw e;
    }
  };
  return { seen, fetch };
}

const POST = (length: number, extra = "") => `POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe("the engine", () => {
  test("a stalled small body (collected before the app runs) gets a 408 and a close after bodyTimeout", async () => {
    const app = reader();
    const e = start(app.fetch, { bodyTimeout: 1 });
    const c = await connect(e.port);
    const t0 = performance.now();
    c.write(POST(1000) + "0123456789");
    await c.waitClosed(4000);
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThan(900);
    expect(dt).toBeLessThan(2600);
    const r = parseResponse(c.text, true)!;
    expect(r.status).toBe(408);
    expect(r.headers["connection"]).toBe("close");
    expect(app.seen).toEqual([]);
  });

  test("a stalled streamed body fails the app's read with RequestTimeout, and the client gets a 408", async () => {
    const app = reader();
    const e = start(app.fetch, { bodyTimeout: 1 });
    const c = await connect(e.port);
    c.write(POST(4 * 1024 * 1024) + "x".repeat(100_000));
    await c.waitClosed(4000);
    expect(parseResponse(c.text, true)!.status).toBe(408);
    expect(app.seen).toEqual(["failed RequestTimeout"]);
  });

  test("a trickle slower than bodyMinRate is cut once the grace has passed; the pause rule alone would not cut it", async () => {
    const app = reader();
    const e = start(app.fetch, { bodyTimeout: 1, bodyMinRate: 20 });
    const c = await connect(e.port);
    const t0 = performance.now();
    c.write(POST(1000));
    // 5 bytes/s: a byte every 200 ms, so never a 1 s pause.
    const timer = setInterval(() => !c.closed && c.write("a"), 200);
    try {
      await c.waitClosed(5000);
    } finally {
      clearInterval(timer);
    }
    const dt = performance.now() - t0;
    // Overdue once waited > 1 s + received / 20: about 1.33 s, plus the sweep's second.
    expect(dt).toBeGreaterThan(1200);
    expect(dt).toBeLessThan(3500);
    expect(parseResponse(c.text, true)!.status).toBe(408);
  });

  test("a body at twice bodyMinRate is received whole", async () => {
    const app = reader();
    const e = start(app.fetch, { bodyTimeout: 1, bodyMinRate: 200 });
    const c = await connect(e.port);
    c.write(POST(1000));
    for (let i = 0; i < 10; i++) {
      await Bun.sleep(250);
      c.write("b".repeat(100));
    }
    const t = await c.until((t) => parseResponse(t) !== null, 3000);
    expect(parseResponse(t)!.body).toBe("read 1000");
    expect(c.closed).toBe(false);
    c.end();
  });

  test("an app that reads its body late keeps its time", async () => {
    // 3 MiB streamed: the app's stream fills and reading pauses while it sleeps.
    const late = reader(2500);
    // headerTimeout 1: not a body's limit (it was, before body_timeout).
    const e = start(late.fetch, { bodyTimeout: 1, headerTimeout: 1 });
    const c = await connect(e.port);
    c.write(POST(3 * 1024 * 1024) + "z".repeat(3 * 1024 * 1024));
    const t = await c.until((t) => parseResponse(t) !== null, 6000);
    expect(parseResponse(t)!.body).toBe(`read ${3 * 1024 * 1024}`);
    c.end();
  }, 10_000);

  test("an app that is slow after reading its body keeps its time", async () => {
    const slow = reader(0, 2500);
    const e2 = start(slow.fetch, { bodyTimeout: 1 });
    const c2 = await connect(e2.port);
    c2.write(POST(10) + "0123456789");
    const t2 = await c2.until((t) => parseResponse(t) !== null, 6000);
    expect(parseResponse(t2)!.body).toBe("read 10");
    c2.end();
  }, 10_000);

  test("bodyTimeout 0 and bodyMinRate 0: a stalled body waits", async () => {
    const app = reader();
    const e = start(app.fetch, { bodyTimeout: 0, bodyMinRate: 0, headerTimeout: 1 });
    const c = await connect(e.port);
    c.write(POST(20) + "0123456789");
    await Bun.sleep(2500);
    expect(c.closed).toBe(false);
    c.write("0123456789");
    const t = await c.until((t) => parseResponse(t) !== null, 3000);
    expect(parseResponse(t)!.body).toBe("read 20");
    c.end();
  });
});
