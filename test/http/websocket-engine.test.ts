// WebSockets in the HTTP engine (serveHttp): the upgrade and its answers, the handover of the
// socket, backpressure and drain, topics, close and stop, the idle timeout. Raw-socket and Bun
// clients against a real engine on 127.0.0.1; every wait is bounded.
import { afterEach, describe, expect, test } from "bun:test";
import type { ServerWebSocket, WebSocketHandler } from "bun";
import { serveHttp, type HttpEngine, type HttpEngineOptions, type ResponseRecord } from "../../src/http/index.ts";
import { clientFrame, closePayload, RAW_ACCEPT, rawWebSocket, wsClient, type Frame } from "../support/ws-client.ts";

type Engine = HttpEngine & { readonly port: number };
const engines: Engine[] = [];
const clients: { end(): void }[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.end();
  await Promise.all(engines.splice(0).map((e) => e.stop(false)));
});

function start(websocket: WebSocketHandler<any> | undefined, fetch?: HttpEngineOptions["fetch"], extra: Partial<HttpEngineOptions> = {}): { engine: Engine; records: ResponseRecord[]; errors: unknown[] } {
  const records: ResponseRecord[] = [];
  const errors: unknown[] = [];
  const engine = serveHttp(
    { hostname: "127.0.0.1", port: 0 },
    {
      fetch: fetch ?? ((req, server) => (server.upgrade(req, { data: { url: req.url } }) ? (undefined as unknown as Response) : new Response("plain"))),
      onResponse: (r) => records.push(r),
      onError: (e) => errors.push(e),
      ...(websocket !== undefined ? { websocket } : {}),
      ...extra,
    },
  );
  engines.push(engine);
  return { engine, records, errors };
}

async function raw(engine: Engine, path = "/ws", extraHead = "") {
  const r = await rawWebSocket(engine.port, path, extraHead);
  clients.push(r);
  return r;
}

async function client(engine: Engine, path = "/ws") {
  const c = await wsClient(`ws://127.0.0.1:${engine.port}${path}`);
  clients.push({ end: () => (c.ws as WebSocket & { terminate(): void }).terminate() });
  return c;
}

/** A raw HTTP exchange: writes `head`, resolves with what arrived once the connection closed or `ms` passed. */
async function rawHttp(port: number, head: string, ms = 1000): Promise<string> {
  let text = "";
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(text), ms);
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(head),
        data: (_s, d) => void (text += d.toString("latin1")),
        close: () => {
          clearTimeout(timer);
          resolve(text + "[closed]");
        },
      },
    });
  });
}

const HANDSHAKE = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
const text = (f: Frame) => f.payload.toString("utf8");

describe("upgrade", () => {
  test("a handshake gets Bun's 101 (extra headers first), the open handler runs, and the access record is a 101", async () => {
    const events: string[] = [];
    const { engine, records } = start(
      { open: (ws) => void events.push(`open ${ws.readyState} ${JSON.stringify(ws.data)} ${ws.remoteAddress}`) },
      (req, server) => {
        const ok = server.upgrade(req, { data: { n: 1 }, headers: { "Set-Cookie": "a=b", "X-Extra": "yes" } });
        events.push(`upgrade ${ok}`);
        return undefined as unknown as Response;
      },
    );
    const r = await raw(engine, "/chat?x=1");
    const lines = r.head.split("\r\n");
    expect(lines[0]).toBe("HTTP/1.1 101 Switching Protocols");
    expect(lines.slice(1, 3).sort()).toEqual(["set-cookie: a=b", "x-extra: yes"]);
    expect(lines.slice(3, 6)).toEqual(["Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${RAW_ACCEPT}`]);
    expect(lines[6]).toMatch(/^Date: /);
    expect(events).toEqual(['open 1 {"n":1} 127.0.0.1', "upgrade true"]);
    expect(records.map((x) => [x.status, x.bytesSent, x.target])).toEqual([[101, 0, "/chat?x=1"]]);
    expect(engine.pendingWebSockets).toBe(1);
  });

  test("requests that are not a handshake are not upgraded: upgrade() is false and the app's response goes out", async () => {
    const { engine } = start({}, (req, server) => new Response(String(server.upgrade(req))));
    const cases = [
      `GET / HTTP/1.1\r\nHost: x\r\n\r\n`,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n${HANDSHAKE}\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ];
    for (const head of cases) {
      const t = await rawHttp(engine.port, head, 300);
      expect(t.startsWith("HTTP/1.1 200 OK")).toBe(true);
      expect(t).toContain("\r\n\r\nfalse");
    }
    // Bun.serve does not require `Connection: Upgrade`, and accepts HTTP/1.0.
    for (const head of [`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`, `GET / HTTP/1.0\r\n${HANDSHAKE}\r\n`]) {
      expect((await rawHttp(engine.port, head, 300)).startsWith("HTTP/1.1 101 ")).toBe(true);
    }
  });

  test("a wrong Sec-WebSocket-Version gets Bun's 426 and a close; the app's response is dropped", async () => {
    const { engine, records } = start({}, (req, server) => new Response(`upgrade ${server.upgrade(req)}`));
    const t = await rawHttp(engine.port, `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n`);
    expect(t).toBe("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n[closed]");
    expect(records.map((r) => r.status)).toEqual([426]);
  });

  test("without websocket handlers upgrade() throws (a plain 500), as Bun.serve's does", async () => {
    const { engine, errors } = start(undefined, (req, server) => new Response(String(server.upgrade(req))));
    const t = await rawHttp(engine.port, `GET / HTTP/1.1\r\nHost: x\r\n${HANDSHAKE}\r\n`, 300);
    expect(t.startsWith("HTTP/1.1 500 ")).toBe(true);
    expect(String(errors[0])).toContain('set the "websocket" object');
  });

  test("a foreign Request, and a second upgrade of the same request, are false", async () => {
    const got: boolean[] = [];
    const { engine } = start({}, (req, server) => {
      got.push(server.upgrade(new Request(req.url, { headers: req.headers })));
      got.push(server.upgrade(req));
      got.push(server.upgrade(req));
      return undefined as unknown as Response;
    });
    await raw(engine);
    expect(got).toEqual([false, true, false]);
  });

  test("an upgrade after an await, on a connection that served a request first; frames sent with the handshake arrive", async () => {
    const msgs: string[] = [];
    const { engine } = start({ message: (_ws, m) => void msgs.push(String(m)) }, async (req, server) => {
      await Bun.sleep(20);
      if (new URL(req.url).pathname === "/ws" && server.upgrade(req)) return undefined as unknown as Response;
      return new Response("first");
    });
    let buf = "";
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: engine.port,
      socket: { data: (_s, d) => void (buf += d.toString("latin1")) },
    });
    clients.push({ end: () => sock.end() });
    sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (let i = 0; i < 100 && !buf.includes("first"); i++) await Bun.sleep(10);
    expect(buf).toContain("first");
    sock.write(`GET /ws HTTP/1.1\r\nHost: x\r\n${HANDSHAKE}\r\n`);
    for (let i = 0; i < 100 && !buf.includes("101"); i++) await Bun.sleep(10);
    sock.write(Buffer.concat([clientFrame(1, "one"), clientFrame(1, "two")]));
    for (let i = 0; i < 100 && msgs.length < 2; i++) await Bun.sleep(10);
    expect(msgs).toEqual(["one", "two"]);

    // Handshake and first frame in one write (the app upgrades synchronously).
    const { engine: e2 } = start({ message: (_ws, m) => void msgs.push(`e2 ${m}`) });
    const s2 = await Bun.connect({ hostname: "127.0.0.1", port: e2.port, socket: { data: () => {} } });
    clients.push({ end: () => s2.end() });
    s2.write(Buffer.concat([Buffer.from(`GET /ws HTTP/1.1\r\nHost: x\r\n${HANDSHAKE}\r\n`), clientFrame(1, "early")]));
    for (let i = 0; i < 100 && msgs.length < 3; i++) await Bun.sleep(10);
    expect(msgs[2]).toBe("e2 early");
  });
});

describe("messages", () => {
  test("binaryType selects what binary messages and pings are", async () => {
    const seen: string[] = [];
    const { engine } = start({
      message(ws, m) {
        if (typeof m === "string") {
          ws.binaryType = m as ServerWebSocket["binaryType"];
          return;
        }
        seen.push((m as object).constructor.name);
      },
      ping: (_ws, d) => void seen.push(`ping ${(d as object).constructor.name}`),
    });
    const r = await raw(engine);
    for (const t of ["arraybuffer", "uint8array", "blob", "nodebuffer"]) r.write(Buffer.concat([clientFrame(1, t), clientFrame(2, "x"), clientFrame(9, "p")]));
    for (let i = 0; i < 100 && seen.length < 8; i++) await Bun.sleep(10);
    expect(seen).toEqual(["ArrayBuffer", "ping ArrayBuffer", "Uint8Array", "ping Uint8Array", "Blob", "ping Blob", "Buffer", "ping Buffer"]);
  });

  test("send() of each data kind, with Bun's return values", async () => {
    let results: number[] = [];
    const { engine } = start({
      open(ws) {
        results = [ws.send("abc"), ws.send(""), ws.sendText("é"), ws.sendBinary(new Uint8Array(3)), ws.send(new ArrayBuffer(4)), ws.send(new DataView(new ArrayBuffer(5))), ws.send(new Blob(["blob!!"])), ws.ping(), ws.ping("ab"), ws.pong(new Uint8Array(1))];
      },
    });
    const r = await raw(engine);
    const frames = await r.until((f) => f.length >= 10);
    expect(results).toEqual([3, 0, 2, 3, 4, 5, 6, 0, 2, 1]);
    expect(frames.map((f) => [f.opcode, f.payload.length])).toEqual([
      [1, 3],
      [1, 0],
      [1, 2],
      [2, 3],
      [2, 4],
      [2, 5],
      [2, 6],
      [9, 0],
      [9, 2],
      [10, 1],
    ]);
  });

  test("backpressure: send() returns -1 once the socket is full, drain runs once it is flushed; past backpressureLimit it returns 0", async () => {
    let statuses: number[] = [];
    let drains = 0;
    let buffered = 0;
    let sock: ServerWebSocket<unknown> | null = null;
    const chunk = new Uint8Array(64 * 1024);
    const { engine } = start({
      backpressureLimit: 4 * 1024 * 1024,
      open(ws) {
        sock = ws as ServerWebSocket<unknown>;
      },
      message(ws) {
        statuses = [];
        for (let i = 0; i < 400; i++) statuses.push(ws.send(chunk));
        buffered = ws.getBufferedAmount();
      },
      drain: () => void drains++,
    });
    const r = await raw(engine);
    r.pause();
    r.write(clientFrame(1, "go"));
    for (let i = 0; i < 200 && statuses.length === 0; i++) await Bun.sleep(10);
    expect(statuses[0]).toBe(65536);
    expect(statuses).toContain(-1);
    expect(statuses.at(-1)).toBe(0); // 400 x 64 KiB is past the 4 MiB limit: dropped
    const sent = statuses.filter((s) => s !== 0).length;
    expect(buffered).toBeGreaterThan(0);
    expect(drains).toBe(0);
    r.resume();
    await r.until((f) => f.length >= sent, 10_000);
    for (let i = 0; i < 100 && drains === 0; i++) await Bun.sleep(10);
    expect(drains).toBe(1);
    expect(sock!.getBufferedAmount()).toBe(0);
    expect(r.frames.length).toBe(sent);
  });

  test("cork() batches sends and returns the callback's value; pause() holds back the client's messages until resume()", async () => {
    const got: string[] = [];
    let corkResult: unknown;
    let ref: ServerWebSocket<unknown> | null = null;
    const { engine } = start({
      open(ws) {
        ref = ws as ServerWebSocket<unknown>;
        corkResult = ws.cork((w) => {
          w.send("a");
          w.send("b");
          return 42;
        });
      },
      message: (_ws, m) => void got.push(String(m)),
    });
    const r = await raw(engine);
    await r.until((f) => f.length >= 2);
    expect(corkResult).toBe(42);
    expect(r.frames.map(text)).toEqual(["a", "b"]);
    ref!.pause();
    expect(ref!.isPaused).toBe(true);
    r.write(clientFrame(1, "while paused"));
    await Bun.sleep(150);
    expect(got).toEqual([]);
    ref!.resume();
    for (let i = 0; i < 100 && got.length === 0; i++) await Bun.sleep(10);
    expect(got).toEqual(["while paused"]);
  });
});

describe("topics", () => {
  test("ws.publish skips the sender, server.publish reaches all; return values and subscriberCount", async () => {
    const results: unknown[] = [];
    const { engine } = start({
      open: (ws) => void ws.subscribe("room"),
      message(ws, m) {
        if (m === "pub") results.push(ws.publish("room", "from ws"), ws.publish("empty", "x"), ws.publishBinary("room", new Uint8Array(2)), ws.publishText("room", "t"));
        if (m === "topics") results.push(ws.subscriptions, ws.subscribe("room"), ws.unsubscribe("other"), ws.isSubscribed("room"));
      },
    });
    const a = await raw(engine);
    const b = await raw(engine);
    await Bun.sleep(20);
    expect(engine.subscriberCount("room")).toBe(2);
    a.write(clientFrame(1, "pub"));
    await b.until((f) => f.length >= 3);
    expect(results).toEqual([7, 0, 2, 1]);
    expect(b.frames.map((f) => [f.opcode, f.payload.length])).toEqual([
      [1, 7],
      [2, 2],
      [1, 1],
    ]);
    expect(engine.publish("room", "server")).toBe(6);
    expect(engine.publish("nobody", "x")).toBe(0);
    await a.until((f) => f.some((x) => text(x) === "server"));
    await b.until((f) => f.some((x) => text(x) === "server"));
    expect(a.frames.map(text)).toEqual(["server"]);
    a.write(clientFrame(1, "topics"));
    for (let i = 0; i < 100 && results.length < 8; i++) await Bun.sleep(10);
    expect(results.slice(4)).toEqual([["room"], true, false, true]);
    b.write(clientFrame(8, closePayload(1000)));
    await b.waitClosed();
    expect(engine.subscriberCount("room")).toBe(1);
  });

  test("publishToSelf; engines sharing a publishChannel relay each other's publishes", async () => {
    const { engine: e1 } = start({ publishToSelf: true, open: (ws) => void ws.subscribe("t"), message: (ws, m) => void ws.publish("t", m) }, undefined, { publishChannel: "ws-engine-test" });
    const { engine: e2 } = start({ open: (ws) => void ws.subscribe("t") }, undefined, { publishChannel: "ws-engine-test" });
    const a = await raw(e1);
    const b = await raw(e2);
    a.write(clientFrame(1, "hello"));
    await a.until((f) => f.some((x) => text(x) === "hello"));
    await b.until((f) => f.some((x) => text(x) === "hello"));
    e2.publish("t", "back");
    await a.until((f) => f.some((x) => text(x) === "back"));
  });
});

describe("closing", () => {
  test("close handler: subscriptions already gone, readyState 3, sends dropped; a client's close frame is echoed", async () => {
    const seen: unknown[] = [];
    const { engine } = start({
      open: (ws) => void ws.subscribe("t"),
      close(ws, code, reason) {
        seen.push(code, reason, ws.readyState, ws.subscriptions, ws.isSubscribed("t"), ws.subscribe("z"), ws.send("late"));
      },
    });
    const r = await raw(engine);
    r.write(clientFrame(8, closePayload(3001, "see you")));
    const frames = await r.until((f) => f.some((x) => x.opcode === 8));
    expect(frames.find((x) => x.opcode === 8)!.payload).toEqual(closePayload(3001, "see you"));
    await r.waitClosed();
    expect(seen).toEqual([3001, "see you", 3, [], false, false, 0]);
    expect(engine.pendingWebSockets).toBe(0);
  });

  test("an open handler that closes at once: the client gets the 101, then the close frame", async () => {
    const seen: unknown[] = [];
    const { engine } = start({
      open: (ws) => ws.close(4003, "not now"),
      close: (_ws, code, reason) => void seen.push(code, reason),
      message: (_ws, m) => void seen.push(`message ${m}`),
    });
    const r = await raw(engine);
    expect(r.head.startsWith("HTTP/1.1 101 ")).toBe(true);
    r.write(clientFrame(1, "too late"));
    await r.waitClosed();
    expect(r.frames.map((f) => [f.opcode, f.payload.readUInt16BE(0), f.payload.subarray(2).toString()])).toEqual([[8, 4003, "not now"]]);
    expect(seen).toEqual([4003, "not now"]);
    expect(engine.pendingWebSockets).toBe(0);
  });

  test("a socket that ends without a close frame is 1006; terminate() flushes and closes without one", async () => {
    const seen: unknown[] = [];
    const { engine } = start({
      message(ws) {
        ws.send("before");
        ws.terminate();
        seen.push(["after terminate", ws.readyState]);
      },
      close: (_ws, code, reason) => void seen.push([code, reason]),
    });
    const a = await raw(engine);
    a.end();
    for (let i = 0; i < 100 && seen.length === 0; i++) await Bun.sleep(10);
    expect(seen).toEqual([[1006, ""]]);
    const b = await raw(engine);
    b.write(clientFrame(1, "x"));
    await b.waitClosed();
    expect(b.frames.map((f) => [f.opcode, text(f)])).toEqual([[1, "before"]]);
    expect(seen.slice(1)).toEqual([[1006, ""], ["after terminate", 3]]);
  });

  test("stop(false) closes WebSockets with 1001 'Server closed'; a graceful stop waits for them to close", async () => {
    const codes: unknown[] = [];
    const { engine } = start({ close: (_ws, code, reason) => void codes.push([code, reason]) });
    const c = await client(engine);
    let stopped = false;
    const p = engine.stop(true).then(() => {
      stopped = true;
    });
    await Bun.sleep(300);
    expect(stopped).toBe(false);
    c.send("still open");
    c.close(1000, "done");
    await p;
    expect(codes).toEqual([[1000, "done"]]);

    const { engine: e2 } = start({ close: (_ws, code, reason) => void codes.push([code, reason]) });
    const c2 = await client(e2);
    await e2.stop(false);
    expect(await c2.closed()).toEqual({ code: 1001, reason: "Server closed" });
    expect(codes[1]).toEqual([1001, "Server closed"]);
  });

  test(
    "idleTimeout: a ping at half of it, then closed (1006, Bun's reason); a client that answers pings stays",
    async () => {
      const seen: unknown[] = [];
      const { engine } = start({ idleTimeout: 3, close: (_ws, code, reason) => void seen.push([code, reason]) });
      const t0 = performance.now();
      const bunClient = await client(engine);
      const r = await raw(engine);
      await r.until((f) => f.some((x) => x.opcode === 9), 8000);
      const pingAt = performance.now() - t0;
      await r.waitClosed(8000);
      const closedAt = performance.now() - t0;
      // 1 to 7 seconds become 8, as in Bun; the sweep runs once a second.
      expect(pingAt).toBeGreaterThan(3500);
      expect(pingAt).toBeLessThan(6000);
      expect(closedAt).toBeGreaterThan(7500);
      expect(closedAt).toBeLessThan(10_000);
      expect(r.frames.map((f) => f.opcode)).toEqual([9]);
      expect(seen).toEqual([[1006, "WebSocket timed out from inactivity"]]);
      // Bun's client answered the pings: still open.
      expect(bunClient.ws.readyState).toBe(WebSocket.OPEN);
      bunClient.send("still here");
    },
    20_000,
  );
});
