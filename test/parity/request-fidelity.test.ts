// Shared behaviour suite: what the app sees is what the client sent, in every mode. A method is
// never changed (passed, or 501 where a Request cannot carry it), raw UTF-8 in the target is
// percent-encoded once, a request without Host gets a usable `req.url` and a bad or repeated Host
// is a 400, a repeated Content-Type is a 400, the default limit_request_line and
// limit_request_fields hold, and the raw target is there for the app where it exists. Where Bun
// 1.4.4 forces a difference (Bun.serve closes on a method it does not know; it keeps no raw
// target), the case asserts it.
import { expect, test } from "bun:test";
import { parseResponse } from "../support/http-client.ts";
import { forEachMode, type Served } from "./modes.ts";

const APP = new URL("./fixtures/request-echo-app.ts", import.meta.url).pathname;

interface Seen {
  method: string;
  url: string;
  usable: boolean;
  rawTarget: string | null;
  host: string | null;
  contentType: string | null;
  fields: number;
  body: string;
}

/** Sends `raw` (latin-1: one byte per character) on a new connection; the response, or null when the server closed without one. */
async function exchange(s: Served, raw: string): Promise<{ status: number; text: string; seen: Seen | null } | null> {
  const c = await s.connect();
  c.write(Buffer.from(raw, "latin1"));
  await c.until((t) => parseResponse(t) !== null || c.closed, 5000);
  const r = parseResponse(c.text, c.closed);
  c.end();
  if (r === null) return null;
  const json = r.headers["content-type"]?.startsWith("application/json") ? (JSON.parse(Buffer.from(r.body, "latin1").toString()) as Seen) : null;
  return { status: r.status, text: r.body, seen: json };
}

const req = (line: string, ...fields: string[]) => `${line}\r\n${fields.map((f) => f + "\r\n").join("")}Connection: close\r\n\r\n`;

forEachMode("what the app sees", { app: APP }, (srv, mode) => {
  const engine = mode.listen === "shared-socket";
  const origin = () => (mode.unix ? "http://localhost" : `http://127.0.0.1:${srv().port}`);

  test("a method a Request carries reaches the app as sent", async () => {
    for (const m of ["PURGE", "M-SEARCH", "PROPFIND", "QUERY"]) {
      const r = await exchange(srv(), req(`${m} /foo HTTP/1.1`, "Host: x"));
      expect(r?.status).toBe(200);
      expect(r?.seen?.method).toBe(m);
    }
  });

  test("a method a Request cannot carry is never changed: 501 (Bun.serve closes without an answer)", async () => {
    for (const m of ["-BLARGH", "FOO", "BREW"]) {
      const r = await exchange(srv(), req(`${m} /foo HTTP/1.1`, "Host: x"));
      if (engine) {
        expect(r?.status).toBe(501);
        expect(r?.text).toBe("Not Implemented\n");
      } else expect(r).toBeNull();
    }
    // The worker keeps serving.
    expect((await exchange(srv(), req("GET / HTTP/1.1", "Host: x")))?.status).toBe(200);
  });

  test("raw UTF-8 in the target is percent-encoded once; an invalid byte becomes U+FFFD, as Bun.serve does", async () => {
    const r = await exchange(srv(), req("GET /\xc3\xa0?q=\xc3\xa0 HTTP/1.1", "Host: x"));
    expect(r?.seen?.url).toBe("http://x/%C3%A0?q=%C3%A0");
    expect(new URL(r!.seen!.url).pathname).toBe("/%C3%A0");
    const bad = await exchange(srv(), req("GET /\xe9 HTTP/1.1", "Host: x"));
    expect(bad?.seen?.url).toBe("http://x/%EF%BF%BD");
  });

  test("HTTP/1.0 without Host, or an empty Host: req.url is a usable URL with the listener's address", async () => {
    const r = await exchange(srv(), "GET /p?q=1 HTTP/1.0\r\n\r\n");
    expect(r?.status).toBe(200);
    expect(r?.seen?.usable).toBe(true);
    expect(r?.seen?.url).toBe(`${origin()}/p?q=1`);
    const empty = await exchange(srv(), req("GET /p HTTP/1.1", "Host: "));
    expect(empty?.status).toBe(200);
    expect(empty?.seen?.url).toBe(`${origin()}/p`);
  });

  test("a Host that is no authority is a plain 400, never a req.url new URL() rejects", async () => {
    for (const host of ["a b/c", "evil.example/abc?", "[::1", "a:99999", "a:b:c", "1.2.3.4.5", "a%zz", "\xc3\xa0.example"]) {
      const r = await exchange(srv(), req("GET /p HTTP/1.1", `Host: ${host}`));
      expect({ host, status: r?.status, body: r?.text }).toEqual({ host, status: 400, body: "Bad Request\n" });
    }
  });

  test("usual Hosts pass as sent", async () => {
    for (const host of ["example.com", "example.com:8080", "my-host_1.internal", "127.0.0.1:8000", "[::1]:8000", "localhost", "a,b"]) {
      const r = await exchange(srv(), req("GET /p HTTP/1.1", `Host: ${host}`));
      expect({ host, status: r?.status, usable: r?.seen?.usable }).toEqual({ host, status: 200, usable: true });
      expect(r?.seen?.host).toBe(host);
    }
  });

  test("a repeated Host or Content-Type is a plain 400 (Gunicorn 26); a quoted comma is no repeat", async () => {
    expect((await exchange(srv(), req("GET /p HTTP/1.1", "Host: a", "Host: b")))?.status).toBe(400);
    const twoTypes = await exchange(srv(), req("POST /p HTTP/1.1", "Host: x", "Content-Type: text/plain", "Content-Type: application/json", "Content-Length: 2") + "{}");
    expect(twoTypes?.status).toBe(400);
    const quoted = await exchange(srv(), req("POST /p HTTP/1.1", "Host: x", 'Content-Type: multipart/form-data; boundary="a, b"', "Content-Length: 0"));
    expect(quoted?.status).toBe(200);
    expect(quoted?.seen?.contentType).toBe('multipart/form-data; boundary="a, b"');
  });

  test("limit_request_line (4094 by default): a line of 4094 bytes is served, 4095 is a plain 400", async () => {
    const line = (n: number) => `GET /${"a".repeat(n - "GET / HTTP/1.1".length)} HTTP/1.1`;
    expect(line(4094).length).toBe(4094);
    const ok = await exchange(srv(), req(line(4094), "Host: x"));
    expect(ok?.status).toBe(200);
    const long = await exchange(srv(), req(line(4095), "Host: x"));
    expect(long?.status).toBe(400);
    // The query counts too.
    const q = await exchange(srv(), req(`GET /?q=${"b".repeat(5000)} HTTP/1.1`, "Host: x"));
    expect(q?.status).toBe(400);
  });

  test("limit_request_fields (100 by default): 100 fields are served, 101 is a plain 431", async () => {
    // Host and Connection are two of them.
    const fields = (n: number) => ["Host: x", ...Array.from({ length: n - 2 }, (_, i) => `X-F${i}: v`)];
    const ok = await exchange(srv(), req("GET /p HTTP/1.1", ...fields(100)));
    expect(ok?.status).toBe(200);
    expect(ok?.seen?.fields).toBe(100);
    const many = await exchange(srv(), req("GET /p HTTP/1.1", ...fields(101)));
    expect(many?.status).toBe(431);
  });

  test("the raw target: req.url resolves dot segments; rawTarget(req) is what was sent (null under Bun.serve, which keeps none)", async () => {
    const r = await exchange(srv(), req("GET /public/%2e%2e/admin?x=/../ HTTP/1.1", "Host: x"));
    expect(r?.status).toBe(200);
    expect(new URL(r!.seen!.url).pathname).toBe("/admin");
    expect(r?.seen?.rawTarget).toBe(engine ? "/public/%2e%2e/admin?x=/../" : null);
    const utf8 = await exchange(srv(), req("GET /\xc3\xa0/./b HTTP/1.1", "Host: x"));
    expect(utf8?.seen?.rawTarget).toBe(engine ? "/\xc3\xa0/./b" : null);
  });
});
