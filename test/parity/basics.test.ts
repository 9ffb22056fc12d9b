// Shared behaviour suite: the basic exchanges, the same in every mode.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { forEachMode } from "./modes.ts";

const STATIC = readFileSync(new URL("./fixtures/static.txt", import.meta.url));

forEachMode("basics", {}, (srv) => {
  test("text, JSON, bytes, a file and a stream arrive whole", async () => {
    const s = srv();
    expect(await (await s.fetch("/")).text()).toBe("hello");
    expect(await (await s.fetch("/json")).json()).toEqual({ hello: "world", n: 1 });
    expect((await (await s.fetch("/bytes")).arrayBuffer()).byteLength).toBe(1000);
    const file = await s.fetch("/file");
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(STATIC)).toBe(true);
    expect(await (await s.fetch("/stream")).text()).toBe("one two three");
  });

  test("a throwing handler is a plain 500 with no stack trace, and the worker keeps serving", async () => {
    const s = srv();
    const res = await s.fetch("/error");
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain("boom");
    expect(body).not.toContain("at ");
    expect(await (await s.fetch("/")).text()).toBe("hello");
  });

  test("a POST body is echoed", async () => {
    const s = srv();
    const payload = new Uint8Array(200_000).map((_, i) => i % 251);
    const res = await s.fetch("/echo", { method: "POST", body: payload });
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(payload))).toBe(true);
  });

  test("keep-alive: two requests on one connection", async () => {
    const s = srv();
    const c = await s.connect();
    c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until((t) => t.includes("hello"));
    c.write("GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until((t) => t.includes('"world"'));
    expect(c.closed).toBe(false);
    c.end();
  });

  test("a malformed request is a plain 400 and the worker keeps serving", async () => {
    const s = srv();
    const c = await s.connect();
    c.write("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    const t = await c.until((t) => t.includes("\r\n\r\n"));
    expect(t.startsWith("HTTP/1.1 400")).toBe(true);
    c.end();
    expect(await (await s.fetch("/")).text()).toBe("hello");
  });
});
