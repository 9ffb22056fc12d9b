// Request bodies: buffered, Content-Length and chunked streams, 100-continue, limits.
import { afterEach, describe, expect, test } from "bun:test";
import type { ResponseRecord } from "../../src/http/index.ts";
import { connect, parseAll, parseResponse } from "../support/http-client.ts";
import { GET, hasN, start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

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
