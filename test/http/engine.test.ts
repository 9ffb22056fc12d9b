// The engine's connection loop: keep-alive, pipelining, errors, timeouts and stop.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveHttp } from "../../src/http/index.ts";
import { connect, countResponses, parseAll, parseResponse } from "../support/http-client.ts";
import { GET, hasN, start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

describe("basic exchanges", () => {
  test("keep-alive: several requests reuse one connection; absolute req.url", async () => {
    const e = start((req) => new Response(`${req.method} ${req.url} ${req.headers.get("x-n")}`));
    const c = await connect(e.port);
    c.write(GET("/a?q=1", "X-N: 1"));
    await c.until(hasN(1));
    c.write(GET("/b", "X-N: 2"));
    const rs = parseAll(await c.until(hasN(2)));
    expect(rs.map((r) => r.body)).toEqual(["GET http://t.example/a?q=1 1", "GET http://t.example/b 2"]);
    expect(rs[0]!.status).toBe(200);
    expect(rs[0]!.headers["content-type"]).toBe("text/plain;charset=utf-8");
    expect(rs[0]!.headers["date"]).toMatch(/GMT$/);
    expect(rs[0]!.headers["server"]).toBeUndefined();
    expect(rs[0]!.headers["connection"]).toBeUndefined();
    expect(c.closed).toBe(false);
    expect(e.requestsServed).toBe(2);
    c.end();
  });

  test("no Host: req.url falls back to the listener address; absolute-form keeps its authority", async () => {
    const e = start((req) => new Response(req.url));
    const c = await connect(e.port);
    c.write("GET /ten HTTP/1.0\r\n\r\n");
    const t = await c.until((t) => parseResponse(t, c.closed) !== null && c.closed);
    expect(parseResponse(t, true)!.body).toBe(`http://127.0.0.1:${e.port}/ten`);
    const c2 = await connect(e.port);
    c2.write("GET http://other.example/y?z=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(parseAll(await c2.until(hasN(1)))[0]!.body).toBe("http://other.example/y?z=1");
    c2.end();
  });

  test("pipelining: 3 requests in one write are answered in order", async () => {
    const delays: Record<string, number> = { "/1": 60, "/2": 0, "/3": 20 };
    const e = start(async (req) => {
      const p = new URL(req.url).pathname;
      await Bun.sleep(delays[p]!);
      return new Response(`r${p}`);
    });
    const c = await connect(e.port);
    c.write(GET("/1") + GET("/2") + GET("/3"));
    const rs = parseAll(await c.until(hasN(3)));
    expect(rs.map((r) => r.body)).toEqual(["r/1", "r/2", "r/3"]);
    c.end();
  });

  test("HTTP/1.0 closes by default, keeps alive on request; Connection: close is honoured", async () => {
    const e = start(() => new Response("x"));
    const c = await connect(e.port);
    c.write("GET / HTTP/1.0\r\n\r\n");
    await c.waitClosed();
    expect(parseResponse(c.text)!.headers["connection"]).toBe("close");

    const c2 = await connect(e.port);
    c2.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await c2.until(hasN(1));
    expect(parseResponse(c2.text)!.headers["connection"]).toBe("keep-alive");
    c2.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await c2.until(hasN(2));
    expect(c2.closed).toBe(false);
    c2.end();

    const c3 = await connect(e.port);
    c3.write(GET("/", "Connection: close") + GET("/ignored"));
    await c3.waitClosed();
    expect(countResponses(c3.text)).toBe(1);
    expect(parseResponse(c3.text)!.headers["connection"]).toBe("close");
  });

  test("an app response with Connection: close closes the connection after it", async () => {
    const e = start((req) => new Response("bye", { headers: { connection: "close", "x-p": new URL(req.url).pathname } }));
    const c = await connect(e.port);
    c.write(GET("/1") + GET("/2"));
    await c.waitClosed();
    expect(countResponses(c.text)).toBe(1);
    const r = parseResponse(c.text)!;
    expect(r.headers["connection"]).toBe("close");
    expect(r.headers["x-p"]).toBe("/1");
    await Bun.sleep(20);
    expect(e.inFlight).toBe(0);
  });

  test("keepalive: 0 closes after every response", async () => {
    const e = start(() => new Response("x"), { keepalive: 0 });
    const c = await connect(e.port);
    c.write(GET("/"));
    await c.waitClosed();
    expect(parseResponse(c.text)!.headers["connection"]).toBe("close");
  });

  test("HEAD: headers with content-length, no body; the connection stays usable", async () => {
    const e = start(() => new Response("hello world"));
    const c = await connect(e.port);
    c.write("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((t) => t.includes("\r\n\r\n"));
    expect(t).toContain("Content-Length: 11\r\n");
    expect(t.endsWith("\r\n\r\n")).toBe(true);
    c.write(GET("/"));
    await c.until((t) => t.endsWith("hello world"));
    c.end();
  });

  test("status without body (204) and an empty body", async () => {
    const e = start((req) => (req.url.endsWith("/204") ? new Response(null, { status: 204 }) : new Response("")));
    const c = await connect(e.port);
    c.write(GET("/204") + GET("/empty"));
    const t = await c.until((t) => countResponses(t) === 2 && t.endsWith("\r\n\r\n"));
    const [a, b] = t.split(/(?=HTTP\/1\.1 )/);
    expect(a).toStartWith("HTTP/1.1 204 No Content\r\n");
    expect(a).not.toContain("Content-Length");
    expect(b).toContain("Content-Length: 0\r\n");
    c.end();
  });

  test("response headers, custom status text, multiple set-cookie", async () => {
    const e = start(() => {
      const h = new Headers({ "x-a": "1", "content-type": "application/json" });
      h.append("set-cookie", "a=1");
      h.append("set-cookie", "b=2");
      return new Response('{"ok":true}', { status: 201, statusText: "Made", headers: h });
    });
    const c = await connect(e.port);
    c.write(GET("/"));
    const t = await c.until(hasN(1));
    expect(t).toStartWith("HTTP/1.1 201 Made\r\n");
    expect(t).toContain("set-cookie: a=1\r\n");
    expect(t).toContain("set-cookie: b=2\r\n");
    expect(t.match(/content-type/gi)!.length).toBe(1);
    expect(parseResponse(t)!.body).toBe('{"ok":true}');
    c.end();
  });

  test("unix socket target, requestIP null there; requestIP on TCP", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunicorn-http-"));
    try {
      const path = join(dir, "s.sock");
      let ip: unknown = "unset";
      start((req, srv) => ((ip = srv.requestIP(req)), new Response("u")), {}, { unix: path });
      const c = await connect({ unix: path });
      c.write(GET("/"));
      expect(parseAll(await c.until(hasN(1)))[0]!.body).toBe("u");
      expect(ip).toBeNull();
      c.end();
      const e2 = start((req, srv) => Response.json(srv.requestIP(req)));
      const c2 = await connect(e2.port);
      c2.write(GET("/"));
      const j = JSON.parse(parseAll(await c2.until(hasN(1)))[0]!.body);
      expect(j.address).toBe("127.0.0.1");
      expect(j.family).toBe("IPv4");
      expect(j.port).toBeGreaterThan(0);
      c2.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("errors", () => {
  test("400 on garbage, connection closed; a fresh connection still works", async () => {
    const e = start(() => new Response("fine"));
    const c = await connect(e.port);
    c.write("GARBAGE\r\n\r\n");
    await c.waitClosed();
    const r = parseResponse(c.text)!;
    expect(r.status).toBe(400);
    expect(r.headers["connection"]).toBe("close");
    expect(r.body).toBe("Bad Request\n");
    const c2 = await connect(e.port);
    c2.write(GET("/"));
    expect(parseAll(await c2.until(hasN(1)))[0]!.body).toBe("fine");
    c2.end();
  });

  test("protocol errors map to 431, 505, 501, 417, 400", async () => {
    const e = start(async (req) => new Response(await req.text()), { limitRequestFields: 3 });
    const cases: [string, number][] = [
      [GET("/", "A: 1", "B: 2", "C: 3"), 431],
      ["GET / HTTP/2.0\r\n\r\n", 505],
      ["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo\r\n\r\n", 501],
      ["POST / HTTP/1.1\r\nHost: h\r\nExpect: nope\r\n\r\n", 417],
      ["POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
      ["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400],
    ];
    for (const [raw, status] of cases) {
      const c = await connect(e.port);
      c.write(raw);
      await c.waitClosed();
      expect({ raw, status: parseResponse(c.text)?.status }).toEqual({ raw, status });
    }
  });

  test("a 400 after pipelined good requests comes after their responses", async () => {
    const e = start(async () => {
      await Bun.sleep(20);
      return new Response("ok");
    });
    const c = await connect(e.port);
    c.write(GET("/1") + GET("/2") + "BAD LINE\r\n\r\n");
    await c.waitClosed();
    const rs = parseAll(c.text, true);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 400]);
  });

  test("500 on a throwing/rejecting handler and on a non-Response; no stack trace; worker keeps serving", async () => {
    const errors: unknown[] = [];
    const e = start(
      async (req) => {
        const p = new URL(req.url).pathname;
        if (p === "/sync") throw new Error("secret-sync-detail");
        if (p === "/async") {
          await Bun.sleep(1);
          throw new Error("secret-async-detail");
        }
        if (p === "/undef") return undefined as unknown as Response;
        return new Response("ok");
      },
      { onError: (err) => errors.push(err) },
    );
    // The handler above is async, so "sync" throws surface as rejections; also cover a truly sync throw.
    const e2 = start(() => {
      throw new Error("secret-really-sync");
    }, { onError: (err) => errors.push(err) });
    const c = await connect(e.port);
    c.write(GET("/sync") + GET("/async") + GET("/undef") + GET("/ok"));
    const rs = parseAll(await c.until(hasN(4)));
    expect(rs.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    for (const r of rs.slice(0, 3)) {
      expect(r.body).toBe("Internal Server Error\n");
      expect(r.body).not.toContain("secret");
    }
    const c2 = await connect(e2.port);
    c2.write(GET("/"));
    const r2 = parseAll(await c2.until(hasN(1)))[0]!;
    expect(r2.status).toBe(500);
    expect(c2.text).not.toContain("secret");
    expect(errors.length).toBe(4);
    expect(String(errors[0])).toContain("secret-sync-detail");
    c.end();
    c2.end();
  });

  test("a Response whose body was already used gives 500", async () => {
    const errors: unknown[] = [];
    const e = start(
      async () => {
        const r = new Response("once");
        await r.text();
        return r;
      },
      { onError: (err) => errors.push(err) },
    );
    const c = await connect(e.port);
    c.write(GET("/") + GET("/"));
    const rs = parseAll(await c.until(hasN(2)));
    expect(rs.map((r) => r.status)).toEqual([500, 500]);
    expect(errors.length).toBe(2);
    c.end();
  });

  test("503 beyond maxInFlight, never a hang", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const e = start(
      async () => {
        await gate;
        return new Response("slow");
      },
      { maxInFlight: 1 },
    );
    const c1 = await connect(e.port);
    c1.write(GET("/1"));
    await Bun.sleep(30);
    expect(e.inFlight).toBe(1);
    const c2 = await connect(e.port);
    c2.write(GET("/2"));
    await c2.waitClosed();
    const r = parseResponse(c2.text)!;
    expect(r.status).toBe(503);
    release();
    expect(parseAll(await c1.until(hasN(1)))[0]!.body).toBe("slow");
    c1.end();
  });
});

describe("lifecycle", () => {
  test("graceful stop lets an in-flight slow request finish, closes idle connections, refuses new ones", async () => {
    const e = serveHttp(
      { hostname: "127.0.0.1", port: 0 },
      {
        fetch: async (req) => {
          if (req.url.endsWith("/slow")) await Bun.sleep(2000);
          return new Response("slow done");
        },
      },
    );
    // An idle keep-alive connection (it already had an exchange) is closed once its drain grace
    // (1 s, src/http/drain.ts) has passed, long before the slow request ends.
    const idle = await connect(e.port);
    idle.write(GET("/first"));
    await idle.until(hasN(1), 2000);
    const busy = await connect(e.port);
    busy.write(GET("/slow"));
    await Bun.sleep(50);
    expect(e.connections).toBe(2);
    const t0 = performance.now();
    let stopped = false;
    const p = e.stop().then(() => (stopped = true));
    await idle.waitClosed(1800);
    expect(stopped).toBe(false);
    // New connections are refused once stop() began.
    await expect(connect(e.port)).rejects.toThrow();
    await p;
    expect(performance.now() - t0).toBeGreaterThan(150);
    expect(e.connections).toBe(0);
    await busy.waitClosed(2500);
    const r = parseResponse(busy.text, true)!;
    expect(r.body).toBe("slow done");
    expect(r.headers["connection"]).toBe("close");
  });

  test("graceful stop: a connection accepted just before stop may still send its first request", async () => {
    const e = serveHttp({ hostname: "127.0.0.1", port: 0 }, { fetch: () => new Response("late ok") });
    const c = await connect(e.port);
    await Bun.sleep(30);
    const p = e.stop();
    await Bun.sleep(100);
    c.write(GET("/"));
    await c.waitClosed(3000);
    const r = parseResponse(c.text, true)!;
    expect(r.body).toBe("late ok");
    expect(r.headers["connection"]).toBe("close");
    await p;
  });

  test("stop(false) closes everything now", async () => {
    const e = serveHttp({ hostname: "127.0.0.1", port: 0 }, { fetch: () => Bun.sleep(5000).then(() => new Response("x")) });
    const c = await connect(e.port);
    c.write(GET("/"));
    await Bun.sleep(30);
    const t0 = performance.now();
    await e.stop(false);
    await c.waitClosed(1000);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test("idle keep-alive connections close after `keepalive` seconds", async () => {
    const e = start(() => new Response("x"), { keepalive: 1 });
    const c = await connect(e.port);
    c.write(GET("/"));
    await c.until(hasN(1));
    const t0 = performance.now();
    await c.waitClosed(4000);
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThan(800);
    expect(dt).toBeLessThan(3000);
  });

  test("a silent connection and a partial head are closed after headerTimeout", async () => {
    const e = start(() => new Response("x"), { headerTimeout: 1 });
    const silent = await connect(e.port);
    const partial = await connect(e.port);
    partial.write("GET / HTTP/1.1\r\nHost: h\r\n");
    const t0 = performance.now();
    await Promise.all([silent.waitClosed(4000), partial.waitClosed(4000)]);
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThan(800);
    expect(dt).toBeLessThan(3000);
    expect(silent.text).toBe("");
  });

  test("serves an inherited listening fd in a child process", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const fd = (listener as unknown as { fd: number }).fd;
    expect(typeof fd).toBe("number");
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "_fd_child.ts")], {
      stdio: ["ignore", "pipe", "inherit", fd],
    });
    try {
      // Stop the parent's listener so only the child accepts (the child keeps its own copy of the fd).
      const reader = child.stdout.getReader();
      const first = await Promise.race([reader.read(), Bun.sleep(5000).then(() => null)]);
      expect(first && new TextDecoder().decode(first.value)).toContain("ready");
      listener.stop();
      for (let i = 0; i < 3; i++) {
        const c = await connect(listener.port);
        c.write(GET("/fd"));
        const r = parseAll(await c.until(hasN(1)))[0]!;
        expect(r.body).toBe(`child ${child.pid} http://t.example/fd`);
        c.end();
      }
    } finally {
      child.kill();
      await Promise.race([child.exited, Bun.sleep(2000)]);
    }
  });
});

describe("robustness", () => {
  test("garbage on many connections: always an error status or a close, and the engine keeps serving", async () => {
    const e = start(async (req) => new Response(`ok ${req.method} ${(await req.arrayBuffer()).byteLength}`));
    let seed = 99;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const templates = [
      GET("/x"),
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd",
    ];
    for (let i = 0; i < 60; i++) {
      const bytes = Buffer.from(templates[i % templates.length]!, "latin1");
      for (let m = 0; m < 2; m++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const c = await connect(e.port);
      c.write(bytes);
      c.end();
      await c.waitClosed(3000).catch(() => {
        throw new Error(`no close for ${JSON.stringify(bytes.toString("latin1"))}; got ${JSON.stringify(c.text)}`);
      });
      for (const r of parseAll(c.text, true)) expect([200, 400, 413, 417, 431, 501, 505]).toContain(r.status);
    }
    const c = await connect(e.port);
    c.write(GET("/final"));
    expect(parseAll(await c.until(hasN(1)))[0]!.body).toBe("ok GET 0");
    c.end();
    expect(e.inFlight).toBe(0);
  });
});
