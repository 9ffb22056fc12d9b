/**
 * What it costs Bun.serve workers to tell a Response's body kind (in memory, Blob, file, stream)
 * on Bun 1.4.4, and why reuse-port mode has to: Bun.serve's idle timer runs while a body is
 * written and writes do not reset it, so the worker lifts it per request and sets it again once
 * the body is out; Bun re-arms it by itself only after a file body.
 *
 *   npx bun bench/micro/body-kind.ts
 */
import { estimateShallowMemoryUsageOf } from "bun:jsc";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const file = join(mkdtempSync(join(tmpdir(), "body-kind-")), "1mb.bin");
writeFileSync(file, Buffer.alloc(1 << 20, "x"));

function bench(name: string, f: () => unknown): void {
  for (let i = 0; i < 2000; i++) f();
  const n = 20000;
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(`${name.padEnd(44)} ${(((performance.now() - t) * 1000) / n).toFixed(2)} µs`);
}

const fileRes = () => new Response(Bun.file(file));
const blobRes = () => new Response(new Blob(["abc"], { type: "text/x" }));
const streamRes = () => new Response(new ReadableStream({ pull: (c) => c.close() }), { headers: { "content-type": "text/event-stream" } });

bench("new Response(Bun.file(p))", fileRes);
bench("  + estimateShallowMemoryUsageOf (in memory?)", () => estimateShallowMemoryUsageOf(fileRes()));
bench("  + Bun.inspect (the body's kind)", () => Bun.inspect(fileRes(), { depth: 0 }));
bench("new Response(typed Blob) + Bun.inspect", () => Bun.inspect(blobRes(), { depth: 0 }));
bench("new Response(typed stream) + Bun.inspect", () => Bun.inspect(streamRes(), { depth: 0 }));
bench("new Response(Bun.file(p)).body (no kind shown)", () => fileRes().body);

// The probes that show nothing: the same shallow size, headers and stream for all three.
for (const [name, make] of [["file", fileRes], ["Blob", blobRes], ["stream", streamRes]] as const) {
  const r = make();
  console.log(`${name.padEnd(7)} shallow ${estimateShallowMemoryUsageOf(r)}  content-length ${r.headers.get("content-length")}  body ${Bun.inspect(r.body)}`);
}
