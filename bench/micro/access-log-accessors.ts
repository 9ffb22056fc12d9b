/**
 * What the default access-log format costs inside Bun.serve, without bunicorn: one raw Bun.serve
 * process serving `Hello, World!` whose handler does the steps named, priced as the process's
 * CPU time per request (user and user + system from /proc/PID/stat) under `wrk -t1 -c32`
 * keep-alive, the variants run in alternation, medians over the rounds.
 *
 *     flock /tmp/bench.lock npx bun bench/micro/access-log-accessors.ts [--seconds 3] ROUNDS VARIANT...
 *     npx bun bench/micro/access-log-accessors.ts --serve PORT VARIANT     (one server)
 *
 * A variant is a comma-separated list of steps (`none` for the bare app):
 *
 * - `ip`: `server.requestIP(req)` (for `%(h)s`; one getpeername(2) per call in Bun 1.4.4);
 * - `size`: the exact byte count of the in-memory body, `res.clone().blob()` (Bun shows a string
 *   body's storage size, not its UTF-8 length);
 * - `hdr`: `req.headers` (made on first use) and the `referer`, `user-agent` and `authorization`
 *   lookups (`%(f)s`, `%(a)s`, `%(u)s`);
 * - `url`: `req.url` and the method (`%(r)s`);
 * - `reshdr`: the response's `Content-Length` lookup (makes its Headers);
 * - `line`: a default-format line built from constants and the clock, kept in a string buffer
 *   written to /dev/null every 50 ms (what bunicorn's own formatting and writing cost at least).
 *
 * - `bunicorn`: bunicorn's own access line for the request (`sendResponse` of
 *   src/workers/bun-serve-response.ts with a `Logger` writing the default format to /dev/null),
 *   taken from the tree in `ALOG_TREE` (default: this checkout), for A/B of two trees.
 *
 * A variant `DIR=bunicorn` takes the bunicorn step from the tree at DIR.
 *
 * `ip,size` is the floor of the default format on Bun 1.4.4 (the two accessors a line cannot do
 * without), `ip,size,hdr,url,line` everything a line needs; `bunicorn` against it is what
 * bunicorn adds of its own.
 */
import { openSync, readFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
if (args[0] === "--serve") await serve(Number(args[1]), args[2] ?? "none");
else await drive();

async function serve(port: number, variant: string): Promise<void> {
  const steps = new Set(variant.split(","));
  let bunicorn: ((req: Request, server: unknown, res: Response) => Response) | null = null;
  if (steps.has("bunicorn")) {
    const tree = resolve(process.env.ALOG_TREE ?? join(import.meta.dir, "../.."));
    const { Logger } = await import(join(tree, "src/log/logger.ts"));
    const { sendResponse } = await import(join(tree, "src/workers/bun-serve-response.ts"));
    const cfg = { accesslog: "/dev/null", access_log_format: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"', errorlog: "-", loglevel: "info", syslog: false };
    const log = new Logger(cfg, { role: "worker" });
    bunicorn = (req, server, res) => sendResponse(log, req, server, res, performance.now(), -1);
  }
  const ip = steps.has("ip"), size = steps.has("size"), hdr = steps.has("hdr"), url = steps.has("url");
  const reshdr = steps.has("reshdr"), line = steps.has("line");
  const fd = openSync("/dev/null", "a");
  let buf = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    writeSync(fd, buf);
    buf = "";
  };
  let sink = 0;
  Bun.serve({
    port,
    hostname: "127.0.0.1",
    development: false,
    fetch(req, server) {
      const res = new Response("Hello, World!");
      if (ip) sink += server.requestIP(req)?.address.length ?? 0;
      if (size) sink += (Bun.peek(res.clone().blob()) as Blob).size;
      if (hdr) {
        const h = req.headers;
        sink += (h.get("referer") ?? "").length + (h.get("user-agent") ?? "").length + (h.get("authorization") ?? "").length;
      }
      if (url) sink += req.url.length + req.method.length;
      if (reshdr) sink += (res.headers.get("content-length") ?? "").length;
      if (line) {
        buf += `127.0.0.1 - - [01/Dec/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 13 "-" "${performance.now()}"\n`;
        if (buf.length >= 65536) flush();
        else if (!scheduled) {
          scheduled = true;
          setTimeout(flush, 50).unref();
        }
      }
      return bunicorn === null ? res : bunicorn(req, server, res);
    },
  });
  console.log(`ready ${sink}`);
}

function cpuTicks(pid: number): [number, number] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]), Number(f[12])];
}

async function drive(): Promise<void> {
  let seconds = 3;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--seconds") seconds = Number(args[++i]);
    else rest.push(args[i]!);
  }
  const rounds = Number(rest[0] ?? 3);
  const variants = rest.slice(1);
  if (!variants.length) throw new Error("give ROUNDS VARIANT...");
  const results: Record<string, { user: number; total: number }[]> = {};
  let port = 28720;
  console.log(`start ${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length]!;
      const p = port++;
      // `NAME=DIR/bunicorn`: the bunicorn step from the tree at DIR.
      const [label, tree] = v.includes("=") ? [v.slice(v.indexOf("=") + 1), v.slice(0, v.indexOf("="))] : [v, ""];
      const env = tree ? { ...process.env, ALOG_TREE: tree } : process.env;
      const proc = Bun.spawn([process.execPath, import.meta.path, "--serve", String(p), label], { stdout: "pipe", stderr: "inherit", env });
      const reader = proc.stdout.getReader();
      await reader.read();
      const wrk = (d: number) => Bun.spawn(["wrk", "-t1", "-c32", `-d${d}s`, `http://127.0.0.1:${p}/`], { stdout: "pipe", stderr: "ignore" });
      await wrk(1).exited;
      const [u0, s0] = cpuTicks(proc.pid);
      const out = await new Response(wrk(seconds).stdout).text();
      const [u1, s1] = cpuTicks(proc.pid);
      proc.kill();
      await proc.exited;
      const m = /(\d+) requests in/.exec(out);
      const n = Number(m?.[1] ?? NaN);
      const res = { user: ((u1 - u0) * 1e4) / n, total: ((u1 - u0 + s1 - s0) * 1e4) / n };
      (results[v] ??= []).push(res);
      console.log(`round ${r + 1} ${v}: user ${res.user.toFixed(2)} total ${res.total.toFixed(2)} µs/req, ${Math.round(n / seconds)} req/s`);
    }
  }
  console.log(`end ${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const base = median((results[variants[0]!] ?? []).map((x) => x.total));
  for (const v of variants) {
    const rs = results[v]!;
    const t = median(rs.map((x) => x.total));
    console.log(`median ${v}: user ${median(rs.map((x) => x.user)).toFixed(2)} total ${t.toFixed(2)} µs/req (${((t / base - 1) * 100).toFixed(0)}% over ${variants[0]})`);
  }
}
