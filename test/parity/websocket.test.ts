// Shared behaviour suite: WebSockets (Bun's `server.upgrade()` and `websocket` handlers) work the
// same in every mode. Bun's own client connects over TCP or, with `ws+unix://`, the unix socket;
// protocol errors use a raw socket with hand-made frames.
import { afterEach, expect, test } from "bun:test";
import { clientFrame, closePayload, RAW_ACCEPT, rawWebSocket, wsClient, type Frame, type WsClient } from "../support/ws-client.ts";
import { forEachMode, type Served } from "./modes.ts";

const APP = new URL("./fixtures/websocket-app.ts", import.meta.url).pathname;

/** Every client a test opened, ended after it (an open WebSocket would hold up the graceful stop). */
const opened: { end(): void }[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.end();
});

function wsUrl(s: Served, path: string): string {
  return s.mode.unix ? `ws+unix://${s.socketPath}:${path}` : `ws://127.0.0.1:${s.port}${path}`;
}

/** A client on `/ws?name=NAME`, past the open handler's greeting (returned). */
async function open(s: Served, name: string): Promise<{ c: WsClient; hello: { open: boolean; data: unknown; readyState: number; remoteAddress: string } }> {
  const c = await wsClient(wsUrl(s, `/ws?name=${name}`));
  opened.push({ end: () => (c.ws as WebSocket & { terminate(): void }).terminate() });
  const hello = JSON.parse(String(await c.next()));
  return { c, hello };
}

async function raw(s: Served, path: string, extraHead = "") {
  const r = await rawWebSocket(s.mode.unix ? { unix: s.socketPath } : s.port, path, extraHead);
  opened.push(r);
  return r;
}

const text = (f: Frame) => f.payload.toString("utf8");
const closeCode = (f: Frame) => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);

forEachMode("websocket", { app: APP, args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(b)s "%(r)s" %({x-upgraded-by}o)s'] }, (srv) => {
  test("the open handler sees the upgrade's data; text, binary and a 100 KB message are echoed", async () => {
    const s = srv();
    const { c, hello } = await open(s, "echo");
    expect(hello).toEqual({ open: true, data: { path: "/ws", name: "echo" }, readyState: 1, remoteAddress: s.mode.unix ? "" : "127.0.0.1" });
    c.send("hello");
    expect(await c.next()).toBe("hello");
    c.send(new Uint8Array([1, 2, 3]));
    expect(Buffer.from((await c.next()) as Buffer)).toEqual(Buffer.from([1, 2, 3]));
    const big = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    c.send(big);
    expect(Buffer.from((await c.next()) as Buffer).equals(Buffer.from(big))).toBe(true);
    const bigText = "é€x".repeat(35_000);
    c.send(bigText);
    expect(await c.next()).toBe(bigText);
    c.send("cmd:cork");
    expect([await c.next(), await c.next(), Buffer.from((await c.next()) as Buffer)]).toEqual(["one", "two", Buffer.from([3])]);
    c.close();
    expect((await c.closed()).code).toBe(1005);
  });

  test("the 101 has Sec-WebSocket-Accept and the app's headers; a plain GET is not upgraded", async () => {
    const s = srv();
    const r = await raw(s, "/ws?name=raw101");
    const lines = r.head.split("\r\n");
    expect(lines[0]).toBe("HTTP/1.1 101 Switching Protocols");
    const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    expect(headers["sec-websocket-accept"]).toBe(RAW_ACCEPT);
    expect(headers["upgrade"]?.toLowerCase()).toBe("websocket");
    expect(headers["x-upgraded-by"]).toBe("fixture");
    r.end();
    const res = await s.fetch("/ws");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("not a websocket request");
  });

  test("subscribe and publish between clients of one worker, unsubscribe, and server.publish", async () => {
    const s = srv();
    const a = (await open(s, "a")).c;
    const b = (await open(s, "b")).c;
    for (const c of [a, b]) {
      c.send("cmd:subscribe:room");
      expect(await c.next()).toBe("subscribed:room:true:true");
    }
    a.send("cmd:publish:room:hi from a");
    expect(String(await a.next((m) => String(m).startsWith("published:")))).toMatch(/^published:(-1|0|\d+)$/);
    expect(await b.next()).toBe("hi from a");
    const res = await s.fetch("/publish?topic=room&msg=to%20everyone");
    expect(Number(await res.text())).toBeGreaterThanOrEqual(0);
    expect(await a.next()).toBe("to everyone");
    expect(await b.next()).toBe("to everyone");
    b.send("cmd:unsubscribe:room");
    expect(await b.next()).toBe("unsubscribed:room:true:false");
    a.send("cmd:publish:room:after unsubscribe");
    await a.next((m) => String(m).startsWith("published:"));
    await Bun.sleep(300);
    b.send("still here");
    expect(await b.next()).toBe("still here");
    expect(b.messages).not.toContain("after unsubscribe");
    a.send("cmd:info");
    expect(JSON.parse(String(await a.next()))).toEqual({ subscriptions: ["room"], readyState: 1, data: { path: "/ws", name: "a" } });
    a.close();
    b.close();
    await a.closed();
    await b.closed();
  });

  test("close codes: the client's, the server's, terminate, and the close handler's view", async () => {
    const s = srv();
    const watcher = (await open(s, "watcher")).c;
    watcher.send("cmd:subscribe:closes");
    expect(await watcher.next()).toBe("subscribed:closes:true:true");

    const c1 = (await open(s, "c1")).c;
    c1.close(4001, "client bye");
    expect(await c1.closed()).toEqual({ code: 4001, reason: "client bye" });
    expect(await watcher.next()).toBe("closed:c1:4001:client bye:3");

    const c2 = (await open(s, "c2")).c;
    c2.send("cmd:close:4002:server done");
    expect(await c2.closed()).toEqual({ code: 4002, reason: "server done" });
    expect(await watcher.next()).toBe("closed:c2:4002:server done:3");

    const c3 = (await open(s, "c3")).c;
    c3.send("cmd:terminate");
    expect((await c3.closed()).code).toBe(1006);
    expect(await watcher.next()).toBe("closed:c3:1006::3");

    watcher.close();
    await watcher.closed();
  });

  test("ping and pong both ways; a throwing handler goes to the error handler and the socket stays open", async () => {
    const s = srv();
    const { c } = await open(s, "pinger");
    const pongs: string[] = [];
    c.ws.addEventListener("pong", (e) => pongs.push(Buffer.from((e as unknown as { data: Uint8Array }).data).toString()));
    (c.ws as WebSocket & { ping(d: string): void }).ping("from client");
    expect(await c.next()).toBe("got-ping:from client");
    c.send("cmd:ping:from server");
    // Bun's client answers the server's ping; the server's pong handler reports it.
    expect(await c.next()).toBe("got-pong:from server");
    for (let i = 0; i < 50 && pongs.length === 0; i++) await Bun.sleep(20);
    expect(pongs).toEqual(["from client"]);
    c.send("cmd:throw");
    expect(await c.next()).toBe("error:handler failed");
    c.send("after the error");
    expect(await c.next()).toBe("after the error");
    c.close();
    await c.closed();
  });

  test("protocol: a fragmented text with a ping between the fragments, and a 70000-byte frame with a 64-bit length", async () => {
    const s = srv();
    const r = await raw(s, "/ws?name=frag");
    await r.until((f) => f.length >= 1); // the open greeting
    r.write(Buffer.concat([clientFrame(0x1, "Hel", { fin: false }), clientFrame(0x9, "mid"), clientFrame(0x0, "lo, ", { fin: false }), clientFrame(0x0, "world")]));
    const frames = await r.until((f) => f.some((x) => x.opcode === 1 && text(x) === "Hello, world"));
    const after = frames.slice(1);
    expect(after.find((f) => f.opcode === 0xa && text(f) === "mid")).toBeDefined();
    expect(after.some((f) => f.opcode === 1 && text(f) === "got-ping:mid")).toBe(true);
    const big = Buffer.alloc(70_000, 0x5a);
    r.write(clientFrame(0x2, big, { len64: true }));
    const echoed = await r.until((f) => f.some((x) => x.opcode === 2));
    const bin = echoed.find((x) => x.opcode === 2)!;
    expect(bin.fin).toBe(true);
    expect(bin.payload.equals(big)).toBe(true);
    r.write(clientFrame(0x8, closePayload(1000, "done")));
    const closed = await r.until((f) => f.some((x) => x.opcode === 8));
    const cf = closed.find((x) => x.opcode === 8)!;
    expect([closeCode(cf), cf.payload.subarray(2).toString()]).toEqual([1000, "done"]);
    await r.waitClosed();
  });

  test("protocol errors close with 1002, 1007 and 1009, and the close handler gets 1006", async () => {
    const s = srv();
    const watcher = (await open(s, "watcher2")).c;
    watcher.send("cmd:subscribe:closes");
    expect(await watcher.next()).toBe("subscribed:closes:true:true");
    const cases: [string, Buffer, number, string][] = [
      ["unmasked", clientFrame(0x1, "hi", { mask: false }), 1002, "Received an incorrectly masked frame"],
      ["badutf8", clientFrame(0x1, Buffer.from([0x68, 0xff, 0xfe])), 1007, "Received invalid UTF-8"],
      ["toobig", clientFrame(0x2, Buffer.alloc(1024 * 1024 + 1)), 1009, "Received too big message"],
      ["bigping", clientFrame(0x9, Buffer.alloc(126)), 1002, "Received too big control frame"],
      ["fragping", clientFrame(0x9, "x", { fin: false }), 1002, "Received fragmented control frame"],
      ["rsv1", clientFrame(0x1, "hi", { rsv: 4 }), 1002, "Received unexpected RSV1 bit"],
    ];
    for (const [name, frame, code, reason] of cases) {
      const r = await raw(s, `/ws?name=${name}`);
      await r.until((f) => f.length >= 1);
      r.write(frame);
      const frames = await r.until((f) => f.some((x) => x.opcode === 8));
      const cf = frames.find((x) => x.opcode === 8)!;
      expect({ name, code: closeCode(cf), reason: cf.payload.subarray(2).toString() }).toEqual({ name, code, reason });
      await r.waitClosed();
      expect(await watcher.next()).toBe(`closed:${name}:1006:${reason}:3`);
    }
    watcher.close();
    await watcher.closed();
  });

  test("the access log has one 101 line per upgrade and no error", async () => {
    const s = srv();
    const { c } = await open(s, "logged");
    c.close();
    await c.closed();
    const lines = await s.waitAccessLines(1);
    const line = (await waitForLine(s, "name=logged")) ?? "(none)";
    expect(line).toBe('101 0 "GET /ws?name=logged HTTP/1.1" fixture');
    expect(lines.some((l) => l.startsWith("500 "))).toBe(false);
    expect(s.b.output()).not.toContain("non-Response");
    expect(s.b.output()).not.toContain("[ERROR]");
  });
});

const HONO_APP = new URL("./fixtures/hono-websocket-app.ts", import.meta.url).pathname;

forEachMode("websocket with Hono's upgradeWebSocket", { app: HONO_APP, args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(b)s "%(r)s"'] }, (srv) => {
  test("messages are echoed, and the upgrade is logged as a 101 even though the app returns a Response", async () => {
    const s = srv();
    const c = await wsClient(wsUrl(s, "/ws?hono=1"));
    opened.push({ end: () => (c.ws as WebSocket & { terminate(): void }).terminate() });
    c.send("hi");
    expect(await c.next()).toBe("hono echo: hi");
    c.close();
    await c.closed();
    expect(await (await s.fetch("/")).text()).toBe("hono");
    expect(await waitForLine(s, "hono=1")).toBe('101 0 "GET /ws?hono=1 HTTP/1.1"');
    expect(s.accessLines().filter((l) => l.includes("hono=1")).length).toBe(1);
    expect(s.b.output()).not.toContain("[ERROR]");
  });
});

async function waitForLine(s: Served, needle: string): Promise<string | undefined> {
  for (let i = 0; i < 100; i++) {
    const l = s.accessLines().find((x) => x.includes(needle));
    if (l !== undefined) return l;
    await Bun.sleep(20);
  }
  return undefined;
}
