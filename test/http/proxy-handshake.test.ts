// The PROXY protocol handshake at the start of a connection, through the engine.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveHttp, type HttpEngineOptions, type ResponseRecord } from "../../src/http/index.ts";
import { connect, parseAll } from "../support/http-client.ts";
import { GET, hasN, start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

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
