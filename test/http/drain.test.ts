// The engine's graceful stop keeps each keep-alive connection's next request (src/http/drain.ts).
import { afterEach, describe, expect, test } from "bun:test";
import { DRAIN_IDLE_GRACE_MS } from "../../src/http/drain.ts";
import { connect, parseAll } from "../support/http-client.ts";
import { GET, hasN, start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

describe("graceful stop: keep-alive connections are drained", () => {
  test("a request on an idle keep-alive connection within the grace is answered with Connection: close", async () => {
    const e = start((req) => new Response(new URL(req.url).pathname));
    const c = await connect(e.port);
    c.write(GET("/first"));
    await c.until(hasN(1));
    const p = e.stop();
    // The listener is closed at once.
    await expect(connect(e.port)).rejects.toThrow();
    await Bun.sleep(DRAIN_IDLE_GRACE_MS / 3);
    c.write(GET("/second"));
    await c.waitClosed(2000);
    const rs = parseAll(c.text, true);
    expect(rs.map((r) => r.body)).toEqual(["/first", "/second"]);
    expect(rs[0]!.headers["connection"]).toBeUndefined();
    expect(rs[1]!.headers["connection"]).toBe("close");
    await p;
    expect(e.connections).toBe(0);
  });

  test("an idle connection that sends nothing is closed once the grace has passed, and stop() resolves", async () => {
    const e = start(() => new Response("x"));
    const c = await connect(e.port);
    c.write(GET("/"));
    await c.until(hasN(1));
    const t0 = performance.now();
    await e.stop();
    const took = performance.now() - t0;
    expect(c.closed || (await c.waitClosed(500)).length > 0).toBe(true);
    expect(took).toBeGreaterThanOrEqual(DRAIN_IDLE_GRACE_MS - 50);
    expect(took).toBeLessThan(DRAIN_IDLE_GRACE_MS + 500);
  });

  test("a connection idle for longer than the grace is closed at once", async () => {
    const e = start(() => new Response("x"));
    const c = await connect(e.port);
    c.write(GET("/"));
    await c.until(hasN(1));
    await Bun.sleep(DRAIN_IDLE_GRACE_MS + 50);
    const t0 = performance.now();
    await e.stop();
    expect(performance.now() - t0).toBeLessThan(200);
    await c.waitClosed(500);
  });

  test("endDrain(): idle keep-alive connections close now; one that has not sent its first request keeps its grace", async () => {
    const e = start(() => new Response("x"));
    const used = await connect(e.port);
    used.write(GET("/"));
    await used.until(hasN(1));
    const fresh = await connect(e.port);
    await Bun.sleep(20);
    const p = e.stop();
    e.endDrain();
    await used.waitClosed(DRAIN_IDLE_GRACE_MS / 2);
    expect(fresh.closed).toBe(false);
    fresh.write(GET("/late"));
    await fresh.waitClosed(2000);
    expect(parseAll(fresh.text, true).map((r) => r.headers["connection"])).toEqual(["close"]);
    await p;
  });

  test("pipelined requests read during the drain are all answered; only the last says Connection: close", async () => {
    // A synchronous app (answers while the read is parsed) and an asynchronous one.
    for (const app of [(req: Request) => new Response(new URL(req.url).pathname), async (req: Request) => new Response(new URL(req.url).pathname)]) {
      const e = start(app);
      const c = await connect(e.port);
      c.write(GET("/0"));
      await c.until(hasN(1));
      const p = e.stop();
      c.write(GET("/1") + GET("/2") + GET("/3"));
      await c.waitClosed(2000);
      const rs = parseAll(c.text, true);
      expect(rs.map((r) => r.body)).toEqual(["/0", "/1", "/2", "/3"]);
      expect(rs.map((r) => r.headers["connection"] ?? "")).toEqual(["", "", "", "close"]);
      await p;
    }
  });

  test("pipelined requests queued when the stop begins are all answered; the last says Connection: close", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const e = start(async (req) => {
      await gate;
      return new Response(new URL(req.url).pathname);
    });
    const c = await connect(e.port);
    c.write(GET("/a") + GET("/b"));
    await Bun.sleep(50);
    const p = e.stop();
    await Bun.sleep(20);
    release();
    await c.waitClosed(2000);
    const rs = parseAll(c.text, true);
    expect(rs.map((r) => r.body)).toEqual(["/a", "/b"]);
    expect(rs.map((r) => r.headers["connection"] ?? "")).toEqual(["", "close"]);
    await p;
  });

  test("a response that began before the stop leaves the connection open for its next request", async () => {
    let push!: (s: string) => void;
    let end!: () => void;
    const e = start((req) =>
      new URL(req.url).pathname === "/stream"
        ? new Response(
            new ReadableStream<string>({
              start(ctl) {
                push = (s) => ctl.enqueue(s);
                end = () => ctl.close();
              },
            }),
          )
        : new Response("next"),
    );
    const c = await connect(e.port);
    c.write(GET("/stream"));
    await Bun.sleep(20);
    push("head-");
    await c.until((t) => t.includes("head-"));
    expect(c.text).not.toContain("Connection: close");
    const p = e.stop();
    push("tail");
    end();
    await c.until(hasN(1));
    // The stream's head said keep-alive: its client may send again, and is answered.
    c.write(GET("/after"));
    await c.waitClosed(2000);
    const rs = parseAll(c.text, true);
    expect(rs.map((r) => r.body)).toEqual(["head-tail", "next"]);
    expect(rs[1]!.headers["connection"]).toBe("close");
    await p;
  });
});
