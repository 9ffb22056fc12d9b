// The engine's memory bounds (issue 11): a connection's requests are not read while more than
// 1 MiB of its responses wait for the client; a stalled output is cut after `sendTimeout`; the
// incomplete heads of all connections share `maxBufferedHeads` beyond 16 KiB each.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { HttpRequestParser } from "../../src/http/parser.ts";
import { connect, parseAll } from "../support/http-client.ts";
import { GET, start, stopEngines, type Engine } from "./_engine.ts";
import { waitFor } from "../support/harness.ts";

afterEach(stopEngines);

const BIG = new Uint8Array(1024 * 1024).fill(120);

/** An engine answering `/big` with 1 MiB and anything else with "ok"; `calls` counts the app's calls. */
function bigServer(extra: Parameters<typeof start>[1] = {}): { e: Engine; calls: () => number } {
  let n = 0;
  const e = start((req) => {
    n++;
    return req.url.includes("/big") ? new Response(BIG) : new Response("ok");
  }, extra);
  return { e, calls: () => n };
}

/** A raw client that reads only when told to: `received` counts the bytes. */
async function pausedClient(port: number): Promise<{ sock: Socket<undefined>; received: () => number; text: () => string; closed: () => boolean }> {
  let received = 0;
  let closed = false;
  const parts: Buffer[] = [];
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        received += d.length;
        parts.push(Buffer.from(d));
      },
      close() {
        closed = true;
      },
      error() {},
    },
  });
  sock.pause();
  return { sock, received: () => received, text: () => Buffer.concat(parts).toString("latin1"), closed: () => closed };
}

describe("responses a client does not read", () => {
  test("requests are not read while more than 1 MiB of responses wait; once the client reads, every one is answered in order", async () => {
    const { e, calls } = bigServer();
    const c = await pausedClient(e.port);
    const n = 100;
    let reqs = "";
    for (let i = 0; i < n; i++) reqs += GET(`/big?i=${i}`);
    c.sock.write(reqs);
    await Bun.sleep(600);
    // 100 MiB of responses would be queued without the bound: the app ran only for what the
    // socket's buffers and the 1 MiB bound take (a few MiB).
    expect(calls()).toBeLessThan(20);
    c.sock.resume();
    await waitFor("100 responses", () => calls() === n && c.received() >= n * BIG.length, 10_000, 20);
    const res = parseAll(c.text());
    expect(res.length).toBe(n);
    expect(res.every((r) => r.status === 200 && r.body.length === BIG.length)).toBe(true);
    c.sock.end();
  });

  test("a client that leaves while its responses wait: the connection closes and no more requests run", async () => {
    const { e, calls } = bigServer();
    const c = await pausedClient(e.port);
    c.sock.write(GET("/big").repeat(200));
    await waitFor("the engine to stop reading", () => calls() > 0, 2000, 10);
    await Bun.sleep(300);
    expect(e.connections).toBe(1);
    c.sock.terminate();
    await waitFor("the connection to close", () => e.connections === 0, 2000, 10);
    const ran = calls();
    await Bun.sleep(300);
    expect(calls()).toBe(ran);
  });

  test("an output that does not move for sendTimeout is cut; the idle timer does not run meanwhile", async () => {
    const { e } = bigServer({ sendTimeout: 2, keepalive: 1 });
    const c = await pausedClient(e.port);
    c.sock.write(GET("/big").repeat(8));
    const t0 = performance.now();
    // keepalive (1 s) does not close it while responses wait...
    await Bun.sleep(1500);
    expect(c.closed()).toBe(false);
    // ...sendTimeout (2 s, swept once a second) does.
    await waitFor("the close", () => c.closed(), 4000, 20);
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThan(1900);
    expect(dt).toBeLessThan(3800);
    await waitFor("the engine to forget it", () => e.connections === 0, 1000, 10);
  });

  test("a slow reader gets its pipelined responses whole, however long it pauses past keepalive", async () => {
    const { e } = bigServer({ keepalive: 1 });
    const c = await pausedClient(e.port);
    c.sock.write(GET("/big").repeat(6) + GET("/last"));
    await Bun.sleep(2500);
    c.sock.resume();
    await waitFor("7 responses", () => parseAll(c.text()).length === 7, 5000, 20);
    const res = parseAll(c.text());
    expect(res.map((r) => `${r.status} ${r.body.length}`)).toEqual([...Array(6).fill(`200 ${BIG.length}`), "200 2"]);
    // Idle after that: closed by keepalive.
    await waitFor("the idle close", () => c.closed(), 4000, 20);
  });
});

describe("incomplete heads", () => {
  const filler = (bytes: number) => `X-Filler: ${"a".repeat(bytes)}\r\n`;
  /** An incomplete head of about `kib` KiB in 4 KiB fields. */
  const partialHead = (kib: number) => `GET / HTTP/1.1\r\nHost: h\r\n${filler(4000).repeat(Math.ceil(kib / 4))}`;

  test("beyond 16 KiB a connection's incomplete head must fit in maxBufferedHeads, else 431; smaller ones always wait; closing or finishing frees the budget", async () => {
    const e = start(() => new Response("ok"), { maxBufferedHeads: 100 * 1024 });
    const a = await connect(e.port);
    a.write(partialHead(60));
    await Bun.sleep(200);
    // a holds ~60 KiB; b's ~60 KiB would make ~120 KiB: refused.
    const b = await connect(e.port);
    b.write(partialHead(60));
    await b.waitClosed(3000);
    expect(b.text.split("\r\n")[0]).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    expect(b.text).toContain("Connection: close");
    // 12 KiB is under 16 KiB: it waits, even over the budget...
    const small = await connect(e.port);
    small.write(partialHead(12));
    // ...and a's head, finished, is served.
    a.write("\r\n");
    await a.until((t) => parseAll(t).length === 1);
    expect(parseAll(a.text)[0]!.body).toBe("ok");
    small.write("\r\n");
    await small.until((t) => parseAll(t).length === 1);
    // a's bytes left the count: another 60 KiB head fits again; closing it frees it too.
    const c = await connect(e.port);
    c.write(partialHead(60));
    await Bun.sleep(200);
    expect(c.closed).toBe(false);
    c.end();
    await waitFor("c closed", () => e.connections === 2, 2000, 10);
    const d = await connect(e.port);
    d.write(partialHead(60));
    await Bun.sleep(200);
    expect(d.closed).toBe(false);
    d.write("\r\n");
    await d.until((t) => parseAll(t).length === 1);
  });

  test("with no budget at all, an incomplete head over 16 KiB is a 431 and normal requests are still served", async () => {
    const e = start(() => new Response("ok"), { maxBufferedHeads: 1 });
    const big = await connect(e.port);
    big.write(partialHead(60));
    await big.waitClosed(3000);
    expect(big.text.split("\r\n")[0]).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    const c = await connect(e.port);
    c.write(GET("/"));
    await c.until((t) => parseAll(t).length === 1);
    expect(parseAll(c.text)[0]!.body).toBe("ok");
  });

  test("a head trickling in 100-byte pieces is assembled in a buffer that doubles, not copied whole for every piece", () => {
    const field = `X-Filler: ${"a".repeat(8000)}\r\n`;
    const head = Buffer.from(`GET /t HTTP/1.1\r\nHost: h\r\n${field.repeat(98)}\r\n`);
    const pieces: Buffer[] = [];
    for (let i = 0; i < head.length; i += 100) pieces.push(Buffer.from(head.subarray(i, i + 100)));
    const p = new HttpRequestParser();
    const allocUnsafe = Buffer.allocUnsafe;
    let allocated = 0;
    Buffer.allocUnsafe = ((n: number) => {
      allocated += n;
      return allocUnsafe(n);
    }) as typeof Buffer.allocUnsafe;
    let end = -1;
    try {
      for (const piece of pieces) end = p.feed(piece);
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }
    expect(end).toBe(pieces.at(-1)!.length);
    expect(p.head!.target).toBe("/t");
    expect(p.head!.headers.length).toBe(2 * 99);
    // Copying the whole head for each of its ~7,900 pieces allocated ~3 GB; doubling, under 4x the head.
    expect(allocated).toBeLessThan(4 * head.length);
  });
});
