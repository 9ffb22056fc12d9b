/**
 * The benchmark app, served by every Bun contender (raw Bun.serve and bunicorn):
 *
 *   GET  /        13 bytes, "Hello, World!"
 *   GET  /static  a 1 MB file through Bun.file (BENCH_STATIC_FILE, or a file generated here
 *                 in a temp dir when that variable is unset)
 *   POST /echo    the request body, echoed back
 *
 * The route check is a few string comparisons so that the hello path costs the same in every
 * contender; the Node and Python apps route the same way.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function staticFile(): string {
  const given = process.env.BENCH_STATIC_FILE;
  if (given) return given;
  const path = join(mkdtempSync(join(tmpdir(), "bench-static-")), "1mb.bin");
  writeFileSync(path, Buffer.alloc(1 << 20, "x"));
  return path;
}

const STATIC = staticFile();

/** The path of a request URL ("http://host:port/path?q" -> "/path?q"). */
function pathOf(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? "/" : url.slice(i);
}

export default {
  fetch(req: Request): Response | Promise<Response> {
    const path = pathOf(req.url);
    if (path === "/") return new Response("Hello, World!");
    if (path === "/static") return new Response(Bun.file(STATIC));
    if (path === "/echo") return req.arrayBuffer().then((body) => new Response(body));
    return new Response("Not Found", { status: 404 });
  },
};
