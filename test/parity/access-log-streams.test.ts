// Shared behaviour suite: the access log's byte counts and durations for bodies that are not
// simply bytes in memory, in every mode. A stream's line is written when the stream ends (its
// duration covers the whole stream) or when the client goes away (the bytes sent until then);
// text is counted in UTF-8 bytes, as it goes on the wire.
import { expect, test } from "bun:test";
import { ROOT } from "../support/harness.ts";
import { forEachMode } from "./modes.ts";

const APP = `${ROOT}/test/parity/fixtures/bodies-app.ts`;
const FORMAT = '%(s)s %(B)s %(b)s %(M)s "%(r)s"';

/** The access line whose request target contains `tag`, split into status, B, b and ms. */
function fields(lines: string[], tag: string): { status: number; B: number; b: string; ms: number } | null {
  const line = lines.find((l) => l.includes(`${tag} HTTP/1.1"`));
  if (line === undefined) return null;
  const [s, B, b, ms] = line.split(" ");
  return { status: Number(s), B: Number(B), b: b!, ms: Number(ms) };
}

forEachMode("access log: streams and text", { app: APP, args: ["--access-logfile", "LOG", "--access-logformat", FORMAT] }, (srv) => {
  test("UTF-8 text, a stream of string chunks and a typeless Blob are counted in bytes sent", async () => {
    const s = srv();
    const seen: { tag: string; bytes: number }[] = [];
    for (const [i, path] of ["/utf8", "/utf8-stream", "/typeless-blob"].entries()) {
      const tag = `${path}?u=${i}`;
      const body = new Uint8Array(await (await s.fetch(tag)).arrayBuffer());
      seen.push({ tag, bytes: body.length });
    }
    expect(seen.map((x) => x.bytes)).toEqual([Buffer.byteLength("héllo wörld ✓ 🦄"), 2 * Buffer.byteLength("héllo wörld ✓ 🦄") + 1, 300]);
    const lines = await s.waitAccessLines(seen.length);
    for (const { tag, bytes } of seen) {
      expect({ tag, line: fields(lines, tag) }).toMatchObject({ tag, line: { status: 200, B: bytes, b: String(bytes) } });
    }
  });

  test("a stream's line is written when it ends, with the whole stream's duration", async () => {
    const s = srv();
    const before = s.accessLines().length;
    const res = await s.fetch("/sse?n=3&ms=400&d=1");
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // The first event is out, the stream is not over: no line for it yet.
    await Bun.sleep(150);
    expect(fields(s.accessLines(), "/sse?n=3&ms=400&d=1")).toBeNull();
    let bytes = first.value!.length;
    for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.length;
    expect(bytes).toBe(3 * "data: 0\n\n".length);
    const line = fields(await s.waitAccessLines(before + 1), "/sse?n=3&ms=400&d=1");
    expect(line).toMatchObject({ status: 200, B: bytes, b: String(bytes) });
    expect(line!.ms).toBeGreaterThanOrEqual(1100);
  });

  test("a client that goes away mid-stream still gets a line, with the bytes sent until then", async () => {
    const s = srv();
    const before = s.accessLines().length;
    const c = await s.connect();
    c.write("GET /sse?n=50&ms=200&gone=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until((t) => t.includes("data: 1\n\n"), 5000);
    c.end();
    const line = fields(await s.waitAccessLines(before + 1, 8000), "/sse?n=50&ms=200&gone=1");
    expect(line).not.toBeNull();
    expect(line!.status).toBe(200);
    expect(line!.B).toBeGreaterThanOrEqual(2 * "data: 0\n\n".length);
    expect(line!.B).toBeLessThan(50 * "data: 0\n\n".length);
  });
});
