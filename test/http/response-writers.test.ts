// Response writers: in-memory, streamed, Blob and file bodies (sendfile, Range), and the access record.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import type { ResponseRecord } from "../../src/http/index.ts";
import { connect, countResponses, parseAll } from "../support/http-client.ts";
import { GET, hasN, start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

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
