// The engine gives the app what the client sent: the method (or 501 where a Request cannot carry
// it), raw UTF-8 in the target percent-encoded once, and the raw target through rawTarget().
import { afterEach, describe, expect, test } from "bun:test";
import { BUN_METHODS, requestCarriesMethod } from "../../src/http/methods.ts";
import { rawTarget } from "../../src/request-target.ts";
import { connect, parseAll, parseResponse } from "../support/http-client.ts";
import { hasN, start, stopEngines } from "./_engine.ts";

afterEach(stopEngines);

/** One request on a new connection (closed by the server after it); its response. */
async function once(port: number, raw: string): Promise<{ status: number; body: string }> {
  const c = await connect(port);
  c.write(Buffer.from(raw, "latin1"));
  const t = await c.until((t) => parseResponse(t) !== null);
  c.end();
  const r = parseResponse(t)!;
  return { status: r.status, body: r.body };
}

// The raw target has one character per byte: sent back as those bytes.
const echo = (req: Request) => new Response(Buffer.from(`${req.method} ${req.url} ${rawTarget(req)}`, "latin1"));

describe("methods", () => {
  test("BUN_METHODS are exactly the methods a Request keeps as they are", () => {
    for (const m of BUN_METHODS) expect(new Request("http://x/", { method: m }).method).toBe(m);
    for (const m of ["FOO", "-BLARGH", "get", "Patch", "BREW"]) {
      expect(requestCarriesMethod(m)).toBe(false);
      expect(new Request("http://x/", { method: m }).method).not.toBe(m);
    }
  });

  test("a token method a Request would turn into GET is a 501 and the app never runs", async () => {
    let calls = 0;
    const e = start((req) => {
      calls++;
      return echo(req);
    });
    const r = await once(e.port, "-BLARGH /foo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    expect(r).toEqual({ status: 501, body: "Not Implemented\n" });
    expect(calls).toBe(0);
    expect((await once(e.port, "PURGE /foo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).body).toBe("PURGE http://x/foo /foo");
  });

  test("with permit_unconventional_http_method, a lower-case method is a 501 (a Request would upper-case it), unless casefold_http_method", async () => {
    const plain = start(echo, { permitUnconventionalHttpMethod: true });
    expect((await once(plain.port, "get /a HTTP/1.1\r\nHost: x\r\n\r\n")).status).toBe(501);
    const folded = start(echo, { permitUnconventionalHttpMethod: true, casefoldHttpMethod: true });
    expect((await once(folded.port, "get /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).body).toBe("GET http://x/a /a");
  });
});

describe("the target", () => {
  test("raw UTF-8 bytes are percent-encoded once, in the path and the query; invalid bytes as U+FFFD", async () => {
    const e = start(echo);
    const c = await connect(e.port);
    c.write(Buffer.from("GET /\xc3\xa0/\xe2\x82\xac?q=\xc3\xa0 HTTP/1.1\r\nHost: x\r\n\r\nGET /\xe9\xff HTTP/1.1\r\nHost: x\r\n\r\n", "latin1"));
    const rs = parseAll(await c.until(hasN(2)));
    c.end();
    expect(rs[0]!.body).toBe("GET http://x/%C3%A0/%E2%82%AC?q=%C3%A0 /\xc3\xa0/\xe2\x82\xac?q=\xc3\xa0");
    expect(rs[1]!.body).toBe("GET http://x/%EF%BF%BD%EF%BF%BD /\xe9\xff");
  });

  test("rawTarget is the target as sent in every form; null for a copy of the request", async () => {
    let copy: string | null | undefined;
    const e = start((req) => {
      copy = rawTarget(new Request(req));
      return echo(req);
    });
    const c = await connect(e.port);
    c.write("GET /a/../b/%2e%2e/c//d?x=/../#f HTTP/1.1\r\nHost: x\r\n\r\nGET http://other.example/y/./z HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = parseAll(await c.until(hasN(3)));
    c.end();
    expect(rs.map((r) => r.body)).toEqual([
      "GET http://x/c//d?x=/../#f /a/../b/%2e%2e/c//d?x=/../#f",
      "GET http://other.example/y/z http://other.example/y/./z",
      "OPTIONS http://x/ *",
    ]);
    expect(copy).toBeNull();
  });
});
