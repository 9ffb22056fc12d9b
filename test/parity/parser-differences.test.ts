// Shared behaviour suite: where Bun.serve's parser (reuse-port mode) and bunicorn's engine
// (shared-socket mode) still differ, case by case, sent to every mode. What the worker can check
// after Bun has parsed (Host, a repeated Content-Type, the default limit_request_line and
// limit_request_fields) is the same in both; the rest is decided inside Bun 1.4.4's parser before
// JavaScript sees the request. docs/design.md ("What the app sees") has this list as a table:
// keep the two in step.
import { expect, test } from "bun:test";
import { parseResponse } from "../support/http-client.ts";
import { forEachMode, type Served } from "./modes.ts";

const APP = new URL("./fixtures/request-echo-app.ts", import.meta.url).pathname;

/** A status, or 0: the connection closed without a response. */
type Outcome = number;

interface Case {
  name: string;
  /** Sent as latin-1 bytes. */
  raw: string;
  bun: Outcome;
  engine: Outcome;
  /** What the app saw, when it ran: `req.url` per engine. */
  url?: { bun: string; engine: string };
  /** The `X-V` field's value the app saw, per engine (null: the request did not reach it). */
  xv?: { bun: string | null; engine: string | null };
  /** Bun.serve answers the request, then sends this status too (and closes). */
  bunThen?: number;
}

const H = "Host: x\r\nConnection: close\r\n";
const req = (line: string, ...fields: string[]) => `${line}\r\n${fields.map((f) => f + "\r\n").join("")}${H}\r\n`;
const chunked = (body: string) => `POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n${H}\r\n${body}`;
const lineOf = (n: number) => `GET /${"a".repeat(n - "GET / HTTP/1.1".length)} HTTP/1.1`;

const CASES: Case[] = [
  // Field values and names
  { name: "DEL in a field value", raw: req("GET /p HTTP/1.1", "X-V: a\x7fb"), bun: 200, engine: 400, xv: { bun: "a\x7fb", engine: null } },
  { name: "NUL in a field value", raw: req("GET /p HTTP/1.1", "X-V: a\x00b"), bun: 400, engine: 400 },
  { name: "a control character in a field value", raw: req("GET /p HTTP/1.1", "X-V: a\x01b"), bun: 400, engine: 400 },
  { name: "obs-fold (a line starting with a space)", raw: req("GET /p HTTP/1.1", "X-V: a", " b"), bun: 400, engine: 400 },
  { name: "whitespace before the colon", raw: req("GET /p HTTP/1.1", "X-V : a"), bun: 400, engine: 400 },
  { name: "raw UTF-8 in a field value (read as latin-1 by both)", raw: req("GET /p HTTP/1.1", "X-V: \xc3\xa0"), bun: 200, engine: 200, xv: { bun: "\xc3\xa0", engine: "\xc3\xa0" } },
  { name: "bare LF line ends", raw: "GET /p HTTP/1.1\nHost: x\nConnection: close\n\n", bun: 505, engine: 400 },
  // Framing
  { name: "Transfer-Encoding: gzip, chunked", raw: `POST /p HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n${H}\r\n0\r\n\r\n`, bun: 400, engine: 200 },
  { name: "Transfer-Encoding: identity", raw: `POST /p HTTP/1.1\r\nTransfer-Encoding: identity\r\n${H}\r\n`, bun: 400, engine: 200 },
  { name: "Transfer-Encoding: chunked with Content-Length", raw: `POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n${H}\r\n0\r\n\r\n`, bun: 400, engine: 400 },
  { name: "two identical Content-Length fields", raw: `POST /p HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n${H}\r\na`, bun: 200, engine: 400 },
  { name: "Content-Length: 1, 1", raw: `POST /p HTTP/1.1\r\nContent-Length: 1, 1\r\n${H}\r\na`, bun: 400, engine: 400 },
  { name: "a chunked body with a trailer field", raw: chunked("1\r\na\r\n0\r\nX-T: v\r\n\r\n"), bun: 200, engine: 200, bunThen: 400 },
  { name: "a chunk extension", raw: chunked("1;ext=v\r\na\r\n0\r\n\r\n"), bun: 200, engine: 200 },
  { name: "a malformed chunk size", raw: chunked("zz\r\na\r\n0\r\n\r\n"), bun: 400, engine: 400 },
  // Host (checked after Bun's parser in reuse-port mode)
  { name: "two Host fields", raw: "GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", bun: 400, engine: 400 },
  { name: "a Host that is no authority (a b/c)", raw: "GET /p HTTP/1.1\r\nHost: a b/c\r\nConnection: close\r\n\r\n", bun: 400, engine: 400 },
  { name: "a Host with a port above 65535", raw: "GET /p HTTP/1.1\r\nHost: a:99999\r\nConnection: close\r\n\r\n", bun: 400, engine: 400 },
  { name: "two Content-Type fields", raw: req("POST /p HTTP/1.1", "Content-Type: a/b", "Content-Type: c/d", "Content-Length: 0"), bun: 400, engine: 400 },
  { name: "HTTP/1.1 without Host", raw: "GET /p HTTP/1.1\r\nConnection: close\r\n\r\n", bun: 400, engine: 200 },
  { name: "HTTP/1.0 without Host", raw: "GET /p HTTP/1.0\r\n\r\n", bun: 200, engine: 200 },
  // The request line
  { name: "absolute form: the URL's authority is Bun's Host, the engine's target (RFC 9112 §3.2.2)", raw: req("GET http://other.example/y HTTP/1.1"), bun: 200, engine: 200, url: { bun: "http://x/y", engine: "http://other.example/y" } },
  { name: "OPTIONS *", raw: req("OPTIONS * HTTP/1.1"), bun: 400, engine: 200 },
  { name: "CONNECT host:port", raw: req("CONNECT example.com:443 HTTP/1.1"), bun: 200, engine: 200, url: { bun: "http://example.com:443/", engine: "http://example.com:443/" } },
  { name: "a method Bun does not know (FOO)", raw: req("FOO /p HTTP/1.1"), bun: 0, engine: 501 },
  { name: "a lower-case method (get)", raw: req("get /p HTTP/1.1"), bun: 0, engine: 400 },
  { name: "a method of 21 characters", raw: req(`${"A".repeat(21)} /p HTTP/1.1`), bun: 0, engine: 400 },
  { name: "Expect: something other than 100-continue", raw: req("GET /p HTTP/1.1", "Expect: foo"), bun: 200, engine: 417 },
  { name: "a space in the target", raw: req("GET /a b HTTP/1.1"), bun: 505, engine: 400 },
  { name: "tabs between method, target and version", raw: req("GET\t/p\tHTTP/1.1"), bun: 505, engine: 400 },
  { name: "an empty line before the request line", raw: "\r\n" + req("GET /p HTTP/1.1"), bun: 400, engine: 200 },
  { name: "HTTP/1.2", raw: req("GET /p HTTP/1.2"), bun: 505, engine: 505 },
  { name: "raw UTF-8 in the target", raw: req("GET /\xc3\xa0 HTTP/1.1"), bun: 200, engine: 200, url: { bun: "http://x/%C3%A0", engine: "http://x/%C3%A0" } },
  { name: "dot segments, %2e%2e included", raw: req("GET /public/%2e%2e/admin HTTP/1.1"), bun: 200, engine: 200, url: { bun: "http://x/admin", engine: "http://x/admin" } },
  { name: "a backslash in the path", raw: req("GET /a\\b HTTP/1.1"), bun: 200, engine: 200, url: { bun: "http://x/a/b", engine: "http://x/a/b" } },
  { name: "a fragment in the target", raw: req("GET /a#f HTTP/1.1"), bun: 200, engine: 200, url: { bun: "http://x/a#f", engine: "http://x/a#f" } },
  // Limits (the defaults: 4094-byte line, 100 fields, 8190-byte field)
  { name: "a request line of 4095 bytes", raw: req(lineOf(4095)), bun: 400, engine: 400 },
  { name: "101 fields", raw: req("GET /p HTTP/1.1", ...Array.from({ length: 99 }, (_, i) => `X-F${i}: v`)), bun: 431, engine: 431 },
  { name: "a field of 9000 bytes", raw: req("GET /p HTTP/1.1", `X-V: ${"v".repeat(8995)}`), bun: 200, engine: 431 },
  { name: "a head over 16 KiB (three fields of 6000 bytes)", raw: req("GET /p HTTP/1.1", `X-A: ${"a".repeat(6000)}`, `X-B: ${"b".repeat(6000)}`, `X-C: ${"c".repeat(6000)}`), bun: 431, engine: 200 },
];

/** Sends a case on a new connection: the first response (null: closed without one) and all that came. */
async function send(s: Served, raw: string, untilClosed: boolean): Promise<{ status: number; body: string; all: string } | null> {
  const c = await s.connect();
  c.write(Buffer.from(raw, "latin1"));
  await c.until((t) => (untilClosed ? c.closed : parseResponse(t) !== null || c.closed), 5000);
  c.end();
  const r = parseResponse(c.text, c.closed);
  return r === null ? null : { status: r.status, body: r.body, all: c.text };
}

forEachMode("where Bun's parser and the engine differ", { app: APP }, (srv, mode) => {
  const kind = mode.listen === "reuse-port" ? "bun" : "engine";
  for (const k of CASES) {
    const expected = k[kind];
    test(`${k.name}: ${expected === 0 ? "closed, no answer" : expected}`, async () => {
      const r = await send(srv(), k.raw, kind === "bun" && k.bunThen !== undefined);
      expect(r?.status ?? 0).toBe(expected);
      if (r !== null && r.status === 200) {
        const seen = JSON.parse(Buffer.from(r.body, "latin1").toString()) as { url: string; usable: boolean; xv: string | null };
        expect(seen.usable).toBe(true);
        if (k.url) expect(seen.url).toBe(k.url[kind]);
        if (k.xv) expect(seen.xv).toBe(k.xv[kind]!);
      }
      if (kind === "bun" && k.bunThen !== undefined) expect(r!.all.slice(r!.all.indexOf("\r\n\r\n") + 4)).toContain(`HTTP/1.1 ${k.bunThen} `);
    });
  }
});
