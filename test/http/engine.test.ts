import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { serveHttp, type HttpEngine, type HttpEngineOptions, type ResponseRecord } from "../../src/http/index.ts";
import { connect, countResponses, parseAll, parseResponse } from "./_client.ts";

type Engine = HttpEngine & { readonly port: number };
const engines: Engine[] = [];

function start(fetch: HttpEngineOptions["fetch"], extra: Partial<HttpEngineOptions> = {}): Engine {
  const e = serveHttp({ hostname: "127.0.0.1", port: 0 }, { fetch, ...extra });
  engines.push(e);
  return e;
}

afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop(false);
});

const GET = (path: string, ...headers: string[]) => `GET ${path} HTTP/1.1\r\nHost: t.example\r\n${headers.map((h) => h + "\r\n").join("")}\r\n`;
const hasN = (n: number) => (t: string) => parseAll(t).length >= n;

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
      const e = serveHttp({ unix: path }, { fetch: (req, srv) => ((ip = srv.requestIP(req)), new Response("u")) });
      engines.push(e);
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

describe("request bodies", () => {
  test("chunked request body (sent in pieces) reaches the app; trailers are discarded", async () => {
    const e = start(async (req) => new Response(`len=${(await req.text()).length} te=${req.headers.get("transfer-encoding")}`));
    const c = await connect(e.port);
    c.write("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    await Bun.sleep(20);
    c.write("lo\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n");
    const r = parseAll(await c.until(hasN(1)))[0]!;
    expect(r.body).toBe("len=11 te=chunked");
    c.write(GET("/again"));
    await c.until(hasN(2));
    c.end();
  });

  test("Content-Length body arriving in pieces, and one that came with its head", async () => {
    const e = start(async (req) => new Response(await req.text()));
    const c = await connect(e.port);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    await Bun.sleep(20);
    c.write("56789");
    await c.until(hasN(1));
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    const rs = parseAll(await c.until(hasN(2)));
    expect(rs.map((r) => r.body)).toEqual(["0123456789", "abc"]);
    c.end();
  });

  test("a large body with backpressure arrives intact", async () => {
    const size = 3 * 1024 * 1024;
    const e = start(async (req) => {
      const b = new Uint8Array(await req.arrayBuffer());
      let sum = 0;
      for (let i = 0; i < b.length; i += 4096) sum += b[i]!;
      return new Response(`${b.length}:${sum}`);
    });
    const body = new Uint8Array(size);
    let expected = 0;
    for (let i = 0; i < size; i++) body[i] = i % 251;
    for (let i = 0; i < size; i += 4096) expected += body[i]!;
    const c = await connect(e.port);
    c.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`);
    for (let off = 0; off < size; off += 256 * 1024) {
      c.write(body.subarray(off, off + 256 * 1024));
      await Bun.sleep(1);
    }
    const r = parseAll(await c.until(hasN(1), 10000))[0]!;
    expect(r.body).toBe(`${size}:${expected}`);
    c.end();
  });

  test("a body up to 1 MiB is collected before the app runs, arriving in pieces; unread, the next request still works", async () => {
    let calls = 0;
    const e = start(async (req) => {
      calls++;
      return new Response(req.method === "POST" && req.url.endsWith("/read") ? `got ${(await req.text()).length}` : "ignored body");
    });
    const c = await connect(e.port);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab");
    await Bun.sleep(50);
    expect(calls).toBe(0); // the app waits for the whole body
    c.write("cde" + GET("/next"));
    await c.until(hasN(2));
    expect(c.closed).toBe(false);
    const size = 1024 * 1024;
    c.write(`POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`);
    for (let off = 0; off < size; off += 100_000) c.write("x".repeat(Math.min(100_000, size - off)));
    expect(parseAll(await c.until(hasN(3), 5000))[2]!.body).toBe(`got ${size}`);
    c.end();
  });

  test("Expect: 100-continue on a small body: 100 Continue at once, then the response", async () => {
    const e = start(async (req) => new Response(`got ${(await req.text()).length}`));
    const c = await connect(e.port);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    await c.until((t) => t.includes("100 Continue"));
    c.write("abcde");
    const text = await c.until((t) => t.includes("got 5"));
    expect(text).toStartWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK");
    c.end();
  });

  test("a body over 1 MiB streams: the app may answer before it arrives", async () => {
    const e = start(() => new Response("early"));
    const c = await connect(e.port);
    c.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
    expect(parseAll(await c.until(hasN(1)))[0]!.body).toBe("early");
    c.end();
  });

  test("a client gone while its body is collected leaves nothing in flight, and no access record", async () => {
    const records: ResponseRecord[] = [];
    const e = start(() => new Response("never"), { onResponse: (r) => records.push(r) });
    const c = await connect(e.port);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\npartial");
    await Bun.sleep(50);
    expect(e.inFlight).toBe(1);
    c.end();
    const deadline = Date.now() + 3000;
    while ((e.inFlight !== 0 || e.connections !== 0) && Date.now() < deadline) await Bun.sleep(10);
    expect(e.inFlight).toBe(0);
    expect(e.connections).toBe(0);
    expect(records).toEqual([]);
  });

  test("a body read late (socket paused for backpressure) is followed by a pipelined request", async () => {
    const size = 2 * 1024 * 1024; // over the 1 MiB collected up front: streamed
    const e = start(async (req) => {
      if (req.method === "GET") return new Response("get ok");
      await Bun.sleep(100);
      return new Response(`post ${(await req.arrayBuffer()).byteLength}`);
    });
    const c = await connect(e.port);
    c.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`);
    for (let off = 0; off < size; off += 128 * 1024) c.write(new Uint8Array(128 * 1024).fill(120));
    c.write(GET("/after"));
    const rs = parseAll(await c.until(hasN(2), 5000));
    expect(rs.map((r) => r.body)).toEqual([`post ${size}`, "get ok"]);
    c.end();
  });

  test("answering without reading a large body closes the connection after the response", async () => {
    const e = start(() => new Response("early"));
    const c = await connect(e.port);
    c.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n` + "x".repeat(1000));
    await c.waitClosed();
    const r = parseResponse(c.text)!;
    expect(r.body).toBe("early");
    expect(r.headers["connection"]).toBe("close");
  });

  test("Expect: 100-continue gets 100 Continue before the body is sent", async () => {
    const e = start(async (req) => new Response(`got ${await req.text()}`));
    const c = await connect(e.port);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    const t = await c.until((t) => t.includes("\r\n\r\n"));
    expect(t).toBe("HTTP/1.1 100 Continue\r\n\r\n");
    c.write("data");
    const all = await c.until((t) => t.endsWith("got data"));
    expect(parseResponse(all.slice(t.length))!.status).toBe(200);
    c.end();
  });

  test("maxRequestBodySize: 413 for a large Content-Length and for a large chunked body", async () => {
    const e = start(async (req) => new Response(await req.text()), { maxRequestBodySize: 100 });
    const c = await connect(e.port);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n");
    await c.waitClosed();
    expect(parseResponse(c.text)!.status).toBe(413);
    const c2 = await connect(e.port);
    c2.write("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + "x".repeat(100) + "\r\n1\r\ny\r\n0\r\n\r\n");
    await c2.waitClosed();
    expect(parseResponse(c2.text)!.status).toBe(413);
    const c3 = await connect(e.port);
    c3.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + "z".repeat(100));
    expect(parseAll(await c3.until(hasN(1)))[0]!.body.length).toBe(100);
    c3.end();
  });

  test("client disconnect mid-request aborts req.signal", async () => {
    let resolveAborted!: (v: string) => void;
    const aborted = new Promise<string>((r) => (resolveAborted = r));
    const e = start(async (req) => {
      req.signal.addEventListener("abort", () => resolveAborted(String((req.signal.reason as Error)?.name)));
      await Bun.sleep(2000);
      return new Response("late");
    });
    const c = await connect(e.port);
    c.write(GET("/slow"));
    await Bun.sleep(50);
    c.end();
    const name = await Promise.race([aborted, Bun.sleep(2000).then(() => "timeout")]);
    expect(name).toBe("AbortError");
  });
});

describe("responses", () => {
  test("streamed ReadableStream response uses chunked encoding", async () => {
    const e = start(
      () =>
        new Response(
          new ReadableStream({
            async start(ctl) {
              for (const part of ["one,", "two,", "three"]) {
                ctl.enqueue(new TextEncoder().encode(part));
                await Bun.sleep(10);
              }
              ctl.close();
            },
          }),
        ),
    );
    const c = await connect(e.port);
    c.write(GET("/s"));
    const r = parseAll(await c.until(hasN(1)))[0]!;
    expect(r.headers["transfer-encoding"]).toBe("chunked");
    expect(r.body).toBe("one,two,three");
    c.write(GET("/s"));
    await c.until(hasN(2));
    c.end();
  });

  test("a live stream's first chunk is sent before the stream ends; a stream that ends at once gets a length", async () => {
    const e = start((req) =>
      req.url.endsWith("/live")
        ? new Response(
            new ReadableStream({
              async start(ctl) {
                ctl.enqueue(new TextEncoder().encode("data: 1\n\n"));
                await Bun.sleep(400);
                ctl.enqueue(new TextEncoder().encode("data: 2\n\n"));
                ctl.close();
              },
            }),
            { headers: { "content-type": "text/event-stream" } },
          )
        : new Response(
            new ReadableStream({
              start(ctl) {
                ctl.enqueue(new TextEncoder().encode("ab"));
                ctl.enqueue("cd");
                ctl.close();
              },
            }),
          ),
    );
    const c = await connect(e.port);
    c.write(GET("/live"));
    const t0 = performance.now();
    await c.until((t) => t.includes("data: 1"), 300);
    expect(performance.now() - t0).toBeLessThan(300);
    const live = parseAll(await c.until(hasN(1), 2000))[0]!;
    expect(live.headers["transfer-encoding"]).toBe("chunked");
    expect(live.body).toBe("data: 1\n\ndata: 2\n\n");
    c.write(GET("/quick"));
    const quick = parseAll(await c.until(hasN(2)))[1]!;
    expect(quick.headers["content-length"]).toBe("4");
    expect(quick.body).toBe("abcd");
    c.end();
  });

  test("a large streamed response respects backpressure and arrives intact", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(97);
    const n = 64; // 4 MiB
    const e = start(() => {
      let i = 0;
      return new Response(
        new ReadableStream({
          pull(ctl) {
            if (i++ < n) ctl.enqueue(chunk);
            else ctl.close();
          },
        }),
      );
    });
    const c = await connect(e.port);
    c.write(GET("/big"));
    const r = parseAll(await c.until(hasN(1), 15000))[0]!;
    expect(r.body.length).toBe(n * chunk.length);
    c.end();
  });

  test("Bun.file and Blob bodies", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunicorn-http-"));
    try {
      const file = join(dir, "f.txt");
      const content = "file-content-".repeat(1000);
      writeFileSync(file, content);
      const e = start((req) => (req.url.endsWith("/file") ? new Response(Bun.file(file)) : new Response(new Blob(["blob!"], { type: "text/x-b" }))));
      const c = await connect(e.port);
      c.write(GET("/file") + GET("/blob"));
      const rs = parseAll(await c.until(hasN(2), 5000));
      expect(rs[0]!.body).toBe(content);
      expect(rs[0]!.headers["content-length"]).toBe(String(content.length));
      expect(rs[0]!.headers["content-type"]).toBe("text/plain;charset=utf-8");
      expect(rs[1]!.body).toBe("blob!");
      expect(rs[1]!.headers["content-length"]).toBe("5");
      c.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("file bodies", () => {
    let dir = "";
    let big = "";
    let bigData: Buffer;
    const BIG = 12 * 1024 * 1024; // more than loopback socket buffers hold: sendfile must stall and resume
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "bunicorn-file-"));
      big = join(dir, "big.bin");
      bigData = Buffer.alloc(BIG);
      for (let i = 0; i < BIG; i += 4) bigData.writeUInt32LE(i, i);
      writeFileSync(big, bigData);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Sends `raw`, reads nothing for `pauseMs` (the server's writes back up), then everything until `bytes` arrived. */
    async function fetchRaw(port: number, raw: string, bytes: number, pauseMs: number): Promise<Buffer> {
      const sock = netConnect(port, "127.0.0.1");
      const parts: Buffer[] = [];
      let got = 0;
      return await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`timed out with ${got} of ${bytes} bytes`));
        }, 20000);
        sock.on("connect", () => {
          sock.write(raw);
          sock.pause();
          setTimeout(() => sock.resume(), pauseMs);
        });
        sock.on("data", (d: Buffer) => {
          parts.push(d);
          got += d.length;
          if (got >= bytes) {
            clearTimeout(timer);
            sock.end();
            resolve(Buffer.concat(parts));
          }
        });
        sock.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    }

    /** Splits `buf` into a head (text) and the `length` body bytes that follow it. */
    function splitResponse(buf: Buffer, length: number): { head: string; body: Buffer; rest: Buffer } {
      const end = buf.indexOf("\r\n\r\n");
      return { head: buf.subarray(0, end).toString("latin1"), body: buf.subarray(end + 4, end + 4 + length), rest: buf.subarray(end + 4 + length) };
    }

    for (const sendfile of [true, false]) {
      test(`a ${BIG >> 20} MiB file to a client that stalls arrives intact, then the next pipelined response (sendfile: ${sendfile})`, async () => {
        const e = start((req) => (req.url.endsWith("/big") ? new Response(Bun.file(big)) : new Response("after")), { sendfile });
        const buf = await fetchRaw(e.port, GET("/big") + GET("/next"), BIG + 200, 400);
        const r = splitResponse(buf, BIG);
        expect(r.head).toContain("HTTP/1.1 200 OK");
        expect(r.head).toContain(`Content-Length: ${BIG}`);
        expect(r.head).not.toContain("Transfer-Encoding");
        expect(r.body.equals(bigData)).toBe(true);
        const next = r.rest.toString("latin1");
        expect(next).toStartWith("HTTP/1.1 200 OK");
        expect(next).toEndWith("\r\n\r\nafter");
        expect(e.inFlight).toBe(0);
      }, 30000);
    }

    test("a file slice sends its bytes; HEAD gets the file's length and no body", async () => {
      const records: ResponseRecord[] = [];
      const e = start(() => new Response(Bun.file(big).slice(1000, 5000)), { onResponse: (r) => records.push(r) });
      const c = await connect(e.port);
      c.write(GET("/slice") + `HEAD /slice HTTP/1.1\r\nHost: t\r\n\r\n` + GET("/slice"));
      const text = await c.until((t) => countResponses(t) === 3 && parseAll(t).length >= 2, 5000);
      const rs = parseAll(text);
      expect(rs[0]!.headers["content-length"]).toBe("4000");
      expect(Buffer.from(rs[0]!.body, "latin1").equals(bigData.subarray(1000, 5000))).toBe(true);
      // The HEAD response has a Content-Length but no body: the next bytes are the third response.
      expect(rs[1]!.headers["content-length"]).toBe("4000");
      expect(rs[1]!.body.startsWith("HTTP/1.1 200")).toBe(true);
      c.end();
      expect(records.map((r) => r.bytesSent)).toEqual([4000, 0, 4000]);
    });

    for (const sendfile of [true, false]) {
      test(`Range requests on a file, as Bun.serve answers them (sendfile: ${sendfile})`, async () => {
        const e = start((req) => (req.url.endsWith("/201") ? new Response(Bun.file(big), { status: 201 }) : new Response(Bun.file(big))), { sendfile });
        const c = await connect(e.port);
        c.write(
          GET("/f", "Range: bytes=100-199") +
            GET("/f", "Range: bytes=-8") +
            GET("/f", `Range: bytes=${BIG}-`) +
            GET("/f", "Range: bytes=0-1,4-5") +
            GET("/201", "Range: bytes=0-9") +
            `HEAD /f HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n` +
            GET("/f", "Range: bytes=0-0"),
        );
        // Each response is read with its own Content-Length: the HEAD has none to read.
        const text = await c.until((t) => countResponses(t) === 7 && t.endsWith("\r\n\r\n" + bigData.toString("latin1", 0, 1)), 15000);
        const heads = text.split(/(?=HTTP\/1\.1 \d{3} )/).map((r) => r.slice(0, r.indexOf("\r\n\r\n")));
        expect(heads.map((h) => h.split(" ")[1])).toEqual(["206", "206", "416", "200", "201", "200", "206"]);
        expect(heads[0]).toContain(`Content-Range: bytes 100-199/${BIG}`);
        expect(heads[0]).toContain("Content-Length: 100");
        expect(heads[1]).toContain(`Content-Range: bytes ${BIG - 8}-${BIG - 1}/${BIG}`);
        expect(heads[2]).toContain(`Content-Range: bytes */${BIG}`);
        expect(heads[2]).toContain("Content-Length: 0");
        expect(heads[3]).toContain(`Content-Length: ${BIG}`);
        expect(heads[5]).toContain(`Content-Length: ${BIG}`);
        const rs = parseAll(text);
        expect(Buffer.from(rs[0]!.body, "latin1").equals(bigData.subarray(100, 200))).toBe(true);
        expect(Buffer.from(rs[1]!.body, "latin1").equals(bigData.subarray(BIG - 8))).toBe(true);
        c.end();
      }, 30000);
    }

    test("a missing file gives a plain 500 with no stack, reports the error, and the connection keeps serving", async () => {
      const errors: unknown[] = [];
      const e = start((req) => (req.url.endsWith("/missing") ? new Response(Bun.file(join(dir, "nope.bin"))) : new Response("fine")), {
        onError: (err) => errors.push(err),
      });
      const c = await connect(e.port);
      c.write(GET("/missing") + GET("/ok"));
      const rs = parseAll(await c.until(hasN(2)));
      expect(rs[0]!.status).toBe(500);
      expect(rs[0]!.body).toBe("Internal Server Error\n");
      expect(rs[1]!.body).toBe("fine");
      expect(String(errors[0])).toContain("ENOENT");
      c.end();
    });

    test("a directory as a file body: a plain 500 before any head, reported; the connection keeps serving", async () => {
      const errors: unknown[] = [];
      const e = start((req) => (req.url.endsWith("/dir") ? new Response(Bun.file(dir)) : new Response("fine")), { onError: (err) => errors.push(err) });
      const c = await connect(e.port);
      c.write(GET("/dir") + GET("/ok"));
      const rs = parseAll(await c.until(hasN(2)));
      expect(rs.map((r) => r.status)).toEqual([500, 200]);
      expect(rs[0]!.body).toBe("Internal Server Error\n");
      expect(String(errors[0])).toContain("not a regular file");
      c.end();
    });

    test("an app's own Accept-Ranges is not repeated on a 206", async () => {
      const e = start(() => new Response(Bun.file(big), { headers: { "accept-ranges": "bytes" } }));
      const c = await connect(e.port);
      c.write(GET("/f", "Range: bytes=0-3"));
      const text = await c.until(hasN(1));
      expect(text.match(/accept-ranges/gi)?.length).toBe(1);
      expect(parseAll(text)[0]!.status).toBe(206);
      c.end();
    });

    test("a client that goes away mid-file leaves nothing in flight and the engine serving", async () => {
      const e = start((req) => (req.url.endsWith("/big") ? new Response(Bun.file(big)) : new Response("still here")));
      const sock = netConnect(e.port, "127.0.0.1");
      await new Promise<void>((resolve, reject) => {
        sock.on("error", reject);
        sock.on("connect", () => {
          sock.write(GET("/big"));
          sock.once("data", () => {
            sock.destroy();
            resolve();
          });
        });
      });
      const deadline = Date.now() + 5000;
      while ((e.inFlight !== 0 || e.connections !== 0) && Date.now() < deadline) await Bun.sleep(20);
      expect(e.inFlight).toBe(0);
      expect(e.connections).toBe(0);
      const c = await connect(e.port);
      c.write(GET("/ok"));
      expect(parseAll(await c.until(hasN(1)))[0]!.body).toBe("still here");
      c.end();
    });
  });

  test("onResponse gets an access-log record", async () => {
    const records: ResponseRecord[] = [];
    const e = start(() => new Response("abc", { headers: { "x-r": "1" } }), { onResponse: (r) => records.push(r) });
    const c = await connect(e.port);
    c.write(GET("/p/q?x=1", "User-Agent: t"));
    await c.until(hasN(1));
    c.end();
    expect(records.length).toBe(1);
    const r = records[0]!;
    expect(r.method).toBe("GET");
    expect(r.target).toBe("/p/q?x=1");
    expect(r.path).toBe("/p/q");
    expect(r.query).toBe("x=1");
    expect(r.httpVersion).toBe("1.1");
    expect(r.status).toBe(200);
    expect(r.bytesSent).toBe(3);
    expect(r.remoteAddress).toBe("127.0.0.1");
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(r.requestHeaders).toContain("User-Agent");
    expect(r.responseHeaders).toContain("x-r");
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
        fetch: async () => {
          await Bun.sleep(300);
          return new Response("slow done");
        },
      },
    );
    // An idle keep-alive connection (it already had an exchange) is closed at once.
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
    await idle.waitClosed(1000);
    expect(stopped).toBe(false);
    // New connections are refused once stop() began.
    await expect(connect(e.port)).rejects.toThrow();
    await p;
    expect(performance.now() - t0).toBeGreaterThan(150);
    expect(e.connections).toBe(0);
    await busy.waitClosed(1000);
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

describe("PROXY protocol", () => {
  const V2_SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
  /** The app answers with what requestIP() says. */
  const whoami: HttpEngineOptions["fetch"] = (req, srv) => Response.json(srv.requestIP(req));
  const proxied = (mode: "v1" | "v2" | "auto", extra: Partial<HttpEngineOptions> = {}) => {
    const records: ResponseRecord[] = [];
    const e = start(whoami, { proxyProtocol: mode, onResponse: (r) => records.push(r), ...extra });
    return { e, records };
  };

  test("v1: the source address is the peer for requestIP and onResponse, for every request of the connection", async () => {
    const { e, records } = proxied("v1");
    const c = await connect(e.port);
    c.write("PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\r\n" + GET("/a"));
    await c.until(hasN(1));
    c.write(GET("/b"));
    const rs = parseAll(await c.until(hasN(2)));
    for (const r of rs) expect(JSON.parse(r.body)).toEqual({ address: "203.0.113.9", family: "IPv4", port: 40000 });
    expect(records.map((r) => [r.remoteAddress, r.remotePort, r.path])).toEqual([
      ["203.0.113.9", 40000, "/a"],
      ["203.0.113.9", 40000, "/b"],
    ]);
    c.end();
  });

  test("v1 header and request arriving a few bytes at a time", async () => {
    const { e } = proxied("auto");
    const c = await connect(e.port);
    const bytes = "PROXY TCP6 2001:db8::7 2001:db8::1 5555 80\r\n" + GET("/slow");
    for (let i = 0; i < bytes.length; i += 5) {
      c.write(bytes.slice(i, i + 5));
      await Bun.sleep(2);
    }
    const [r] = parseAll(await c.until(hasN(1)));
    expect(JSON.parse(r!.body)).toEqual({ address: "2001:db8::7", family: "IPv6", port: 5555 });
    c.end();
  });

  test("v2 binary header (INET) in the same packet as the request", async () => {
    for (const mode of ["v2", "auto"] as const) {
      const { e, records } = proxied(mode);
      const c = await connect(e.port);
      const header = Buffer.from([...V2_SIG, 0x21, 0x11, 0, 12, 198, 51, 100, 4, 127, 0, 0, 1, 0x1f, 0x90, 0, 80]);
      c.write(Buffer.concat([header, Buffer.from(GET("/v2"))]));
      const [r] = parseAll(await c.until(hasN(1)));
      expect(JSON.parse(r!.body)).toEqual({ address: "198.51.100.4", family: "IPv4", port: 8080 });
      expect(records[0]!.remoteAddress).toBe("198.51.100.4");
      c.end();
    }
  });

  test("v2 LOCAL and v1 UNKNOWN keep the real peer", async () => {
    const { e } = proxied("auto");
    for (const header of [Buffer.from([...V2_SIG, 0x20, 0x00, 0, 0]), Buffer.from("PROXY UNKNOWN\r\n")]) {
      const c = await connect(e.port);
      c.write(Buffer.concat([header, Buffer.from(GET("/"))]));
      const [r] = parseAll(await c.until(hasN(1)));
      const ip = JSON.parse(r!.body);
      expect(ip.address).toBe("127.0.0.1");
      expect(ip.port).toBeGreaterThan(0);
      c.end();
    }
  });

  test("a peer outside proxyAllowIps gets a plain 403 and a close; the app never runs", async () => {
    for (const mode of ["v1", "auto"] as const) {
      let calls = 0;
      const e = start(() => (calls++, new Response("no")), { proxyProtocol: mode, proxyAllowIps: ["10.0.0.1", "192.168.0.0/16"] });
      const c = await connect(e.port);
      c.write("PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\r\n" + GET("/"));
      await c.waitClosed();
      const rs = parseAll(c.text, true);
      expect(rs.map((r) => [r.status, r.body, r.headers["connection"]])).toEqual([[403, "Forbidden\n", "close"]]);
      expect(calls).toBe(0);
    }
    // v2 too, and in strict mode even without a header.
    const e = start(whoami, { proxyProtocol: "v2", proxyAllowIps: ["10.0.0.1"] });
    const c = await connect(e.port);
    c.write(GET("/"));
    await c.waitClosed();
    expect(parseAll(c.text, true).map((r) => r.status)).toEqual([403]);
  });

  test("allow list with a CIDR network containing the peer, and *", async () => {
    for (const allow of [["10.0.0.0/8", "127.0.0.0/8"], ["*"], ["::ffff:127.0.0.0/104"]]) {
      const { e } = proxied("v1", { proxyAllowIps: allow });
      const c = await connect(e.port);
      c.write("PROXY TCP4 203.0.113.9 10.0.0.1 1 2\r\n" + GET("/"));
      const [r] = parseAll(await c.until(hasN(1)));
      expect(JSON.parse(r!.body).address).toBe("203.0.113.9");
      c.end();
    }
  });

  test("auto: plain HTTP is served with the real peer, even from a peer not allowed to send headers", async () => {
    for (const allow of [undefined, ["10.0.0.1"]]) {
      const { e, records } = proxied("auto", allow ? { proxyAllowIps: allow } : {});
      const c = await connect(e.port);
      c.write(GET("/plain"));
      await c.until(hasN(1));
      c.write(GET("/again"));
      const rs = parseAll(await c.until(hasN(2)));
      expect(rs.map((r) => JSON.parse(r.body).address)).toEqual(["127.0.0.1", "127.0.0.1"]);
      expect(records.map((r) => r.remoteAddress)).toEqual(["127.0.0.1", "127.0.0.1"]);
      c.end();
    }
  });

  test("malformed or missing headers: 400 and a close", async () => {
    const cases: [mode: "v1" | "v2" | "auto", bytes: string | Buffer][] = [
      ["v1", GET("/")],
      ["v1", "PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n" + GET("/")],
      ["auto", "PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n" + GET("/")],
      ["auto", "PROXY " + "x".repeat(120)],
      ["v2", GET("/")],
      ["v2", Buffer.from([...V2_SIG, 0x21, 0x12, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2])],
    ];
    for (const [mode, bytes] of cases) {
      let calls = 0;
      const e = start(() => (calls++, new Response("no")), { proxyProtocol: mode });
      const c = await connect(e.port);
      c.write(bytes);
      await c.waitClosed();
      expect(parseAll(c.text, true).map((r) => r.status)).toEqual([400]);
      expect(calls).toBe(0);
    }
  });

  test("only the first bytes of a connection may be a header", async () => {
    const { e } = proxied("auto");
    const c = await connect(e.port);
    c.write("PROXY TCP4 203.0.113.9 10.0.0.1 1 2\r\n" + GET("/"));
    await c.until(hasN(1));
    c.write("PROXY TCP4 198.51.100.1 10.0.0.1 3 4\r\n" + GET("/"));
    await c.waitClosed();
    expect(parseAll(c.text, true).map((r) => r.status)).toEqual([200, 400]);
  });

  test("unix-socket peers are always allowed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunicorn-pp-"));
    const path = join(dir, "s.sock");
    const e = serveHttp({ unix: path }, { fetch: whoami, proxyProtocol: "v1", proxyAllowIps: ["10.0.0.1"] });
    try {
      const c = await connect({ unix: path });
      c.write("PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\r\n" + GET("/"));
      const [r] = parseAll(await c.until(hasN(1)));
      expect(JSON.parse(r!.body)).toEqual({ address: "203.0.113.9", family: "IPv4", port: 40000 });
      c.end();
    } finally {
      await e.stop(false);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a silent connection is still closed after headerTimeout; options are validated", async () => {
    const e = start(whoami, { proxyProtocol: "v1", headerTimeout: 1 });
    const c = await connect(e.port);
    c.write("PROXY TCP4 1.2.3.4");
    await c.waitClosed(4000);
    expect(c.text).toBe("");
    expect(() => serveHttp({ hostname: "127.0.0.1", port: 0 }, { fetch: whoami, proxyProtocol: "v3" as never })).toThrow(TypeError);
    expect(() => serveHttp({ hostname: "127.0.0.1", port: 0 }, { fetch: whoami, proxyProtocol: "v1", proxyAllowIps: ["nope"] })).toThrow(TypeError);
  });
});
