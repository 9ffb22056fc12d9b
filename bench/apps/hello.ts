/**
 * The benchmark app, served by every Bun contender (raw Bun.serve and bunicorn):
 *
 *   GET  /        13 bytes, "Hello, World!"
 *   GET  /static  a 1 MB file through Bun.file (BENCH_STATIC_FILE, or one file in the temp
 *                 directory, written once and shared by every process that loads this app)
 *   POST /echo    the request body, echoed back
 *
 * The route check is a few string comparisons so that the hello path costs the same in every
 * contender; the Node and Python apps route the same way.
 */
import { renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function staticFile(): string {
  const given = process.env.BENCH_STATIC_FILE;
  if (given) return given;
  // One fixed path, not a temp dir per process: every worker and bench run loads this module, and
  // a directory each left 1 MB behind per start. Written under a unique name and renamed, so a
  // process never serves a half-written file.
  const path = join(tmpdir(), `bunicorn-bench-1mb-${process.getuid?.() ?? 0}.bin`);
  if (statSync(path, { throwIfNoEntry: false })?.size !== 1 << 20) {
    const part = `${path}.${process.pid}`;
    writeFileSync(part, Buffer.alloc(1 << 20, "x"));
    renameSync(part, path);
  }
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
