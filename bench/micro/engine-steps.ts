/**
 * What each step of the shared-socket engine's request path costs on Bun 1.4.4, priced one by
 * one (issue 14): building the app's `Request` (GET with headers, POST with a 64 KiB body),
 * reading the app's in-memory `Response` body back, and writing a response.
 *
 *   npx bun bench/micro/engine-steps.ts [filter]
 *
 * Each line is the median of 5 batches, µs per operation.
 */
import { estimateShallowMemoryUsageOf } from "bun:jsc";

const filter = process.argv[2] ?? "";

function bench(name: string, f: () => unknown, n = 20000): void {
  if (filter && !name.includes(filter)) return;
  for (let i = 0; i < n / 10; i++) f();
  const t: number[] = [];
  for (let b = 0; b < 5; b++) {
    const s = performance.now();
    for (let i = 0; i < n; i++) f();
    t.push(((performance.now() - s) * 1000) / n);
  }
  t.sort((a, b) => a - b);
  console.log(`${name.padEnd(64)} ${t[2]!.toFixed(3)} µs`);
}

const URL_ = "http://127.0.0.1:8000/";
// wrk's head: Host and nothing else; a browser-like head has ~10 fields.
const wrkHeaders = ["host", "127.0.0.1:8000"];
const browserHeaders = [
  "host", "example.com", "user-agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
  "accept", "text/html,application/xhtml+xml", "accept-language", "en-US,en;q=0.5",
  "accept-encoding", "gzip, deflate, br", "connection", "keep-alive", "cookie", "a=1; b=2",
  "upgrade-insecure-requests", "1", "sec-fetch-dest", "document", "sec-fetch-mode", "navigate",
];
class Sub extends Request {}

for (const [label, h] of [["1 field", wrkHeaders], ["10 fields", browserHeaders]] as const) {
  bench(`GET ${label}: new Request(url) + headers.append each`, () => {
    const r = new Request(URL_);
    const rh = r.headers;
    for (let i = 0; i < h.length; i += 2) rh.append(h[i]!, h[i + 1]!);
    return r;
  });
  bench(`GET ${label}: subclass new Sub(url) + headers.append each`, () => {
    const r = new Sub(URL_);
    const rh = r.headers;
    for (let i = 0; i < h.length; i += 2) rh.append(h[i]!, h[i + 1]!);
    return r;
  });
  const pairs: [string, string][] = [];
  for (let i = 0; i < h.length; i += 2) pairs.push([h[i]!, h[i + 1]!]);
  bench(`GET ${label}: new Request(url, {headers: pairs})`, () => new Request(URL_, { headers: pairs }));
  const obj: Record<string, string> = {};
  for (let i = 0; i < h.length; i += 2) obj[h[i]!] = h[i + 1]!;
  bench(`GET ${label}: new Request(url, {headers: object})`, () => new Request(URL_, { headers: obj }));
  bench(`GET ${label}: new Request(url, {headers: new Headers(pairs)})`, () => new Request(URL_, { headers: new Headers(pairs) }));
}
bench("GET: new Request(url) alone", () => new Request(URL_));
bench("GET: new Sub(url) alone", () => new Sub(URL_));

// POST 64 KiB: the body handed over as bytes, as an ArrayBuffer, as a Blob.
const body = Buffer.alloc(65536, "x");
bench("POST 64K: new Request(url, {body: Uint8Array})", () => new Request(URL_, { method: "POST", body }), 5000);
bench("POST 64K: new Request(url, {body: Uint8Array}).arrayBuffer()", () => new Request(URL_, { method: "POST", body }).arrayBuffer(), 5000);
bench("POST 64K: new Request(url, {body: ArrayBuffer}).arrayBuffer()", () => {
  const ab = new ArrayBuffer(65536);
  return new Request(URL_, { method: "POST", body: ab }).arrayBuffer();
}, 5000);
bench("POST 64K: Buffer.allocUnsafe(64K) + set (collecting the body)", () => {
  const b = Buffer.allocUnsafe(65536);
  b.set(body, 0);
  return b;
}, 5000);
bench("POST 64K: new Uint8Array(64K) + set", () => {
  const b = new Uint8Array(65536);
  b.set(body, 0);
  return b;
}, 5000);

// The app's response, read back by the engine.
const ab = new ArrayBuffer(65536);
bench("res 64K: new Response(ArrayBuffer)", () => new Response(ab), 5000);
bench("res 64K: new Response(ArrayBuffer).bytes() (peek)", () => Bun.peek(new Response(ab).bytes()), 5000);
bench("res 64K: new Response(ArrayBuffer).blob().bytes() (peek)", () => Bun.peek((Bun.peek(new Response(ab).blob()) as Blob).bytes()), 5000);
bench("res 64K: new Response(ArrayBuffer).arrayBuffer() (peek)", () => Bun.peek(new Response(ab).arrayBuffer()), 5000);
bench("res hello: new Response(str)", () => new Response("Hello, World!"));
bench("res hello: + estimateShallowMemoryUsageOf", () => estimateShallowMemoryUsageOf(new Response("Hello, World!")));
bench("res hello: + blob() + type + bytes() (no content-type given)", () => {
  const b = Bun.peek(new Response("Hello, World!").blob()) as Blob;
  void b.type;
  return Bun.peek(b.bytes());
});
bench("res hello: + bytes() (content-type given)", () => Bun.peek(new Response("Hello, World!", { headers: { "content-type": "text/plain" } }).bytes()));
bench("res hello: + headers iterate (1 header)", () => {
  let s = "";
  for (const [k, v] of new Response("Hello, World!").headers) s += k + v;
  return s;
});
bench("res hello: headers.count", () => (new Response("Hello, World!").headers as Headers & { count: number }).count);

// Writing the head: a string into a shared Buffer (latin1) vs Buffer.from.
const stage = Buffer.allocUnsafeSlow(65536);
const head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=utf-8\r\nDate: Mon, 30 Nov 2026 20:00:00 GMT\r\nContent-Length: 13\r\n\r\n";
const hello = Buffer.from("Hello, World!");
bench("head: stage.write(latin1) + set(body)", () => {
  stage.write(head, 0, head.length, "latin1");
  stage.set(hello, head.length);
});
bench("head: stage.latin1Write + set(body)", () => {
  (stage as Buffer & { latin1Write(s: string, o: number, l: number): number }).latin1Write(head, 0, head.length);
  stage.set(hello, head.length);
});
bench("head: Buffer.from(head + 'Hello, World!', latin1)", () => Buffer.from(head + "Hello, World!", "latin1"));
bench("head: string concat of 4 header lines", () => "HTTP/1.1 200 OK\r\n" + "content-type: " + "text/plain;charset=utf-8" + "\r\n" + "Date: x\r\n" + "Content-Length: " + 13 + "\r\n\r\n");
bench("now: performance.now()", () => performance.now());
