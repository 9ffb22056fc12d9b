/**
 * What each per-request step of a reuse-port worker costs inside a real Bun.serve on Bun 1.4.4,
 * without bunicorn: one raw `Bun.serve` process serving the bench app's `GET /` (13 bytes; the
 * app reads `req.url`, as the bench app does) or `GET /static` (a 1 MB `Bun.file`), plus the steps
 * named on the command line. A driver loads each variant with `wrk -t1 -c32` in alternation and
 * prints, per variant, the medians over the rounds of:
 *
 * - `in place`: each step's own time, read with `performance.now()` around it in the handler
 *   (minus the clock's own cost, the `empty` step), averaged over the requests: steady on a
 *   noisy machine, but blind to what a step costs later (garbage collection, Bun's own work);
 * - `user` and `total`: the server process's CPU time per request (user, and user + system, from
 *   /proc/PID/stat), which sees everything but moves with the machine's load.
 *
 *     npx bun bench/micro/reuse-port-steps.ts [--path /static] [--headers browser] ROUNDS VARIANT...
 *     npx bun bench/micro/reuse-port-steps.ts --serve PORT STEP,STEP    (one server)
 *
 * A variant is a comma-separated list of steps (`none` for the bare app), run in that order (so
 * `headers,tojson` prices `toJSON()` apart from making the Headers). `--headers browser` sends
 * the 11 fields of a browser's navigation instead of wrk's one (Host). Requests made by
 * Bun.serve cannot be built outside it (`new Request()` has its headers and URL in JavaScript
 * already), so the steps are priced in place, against wrk's load.
 */
import { estimateShallowMemoryUsageOf } from "bun:jsc";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const nativeBody = Object.getOwnPropertyDescriptor(Request.prototype, "body")!.get! as (this: Request) => unknown;

let sink = 0;
type Step = (req: Request, server: import("bun").Server<unknown>, res: Response) => void;
const SCHEME = ["x-forwarded-protocol", "x-forwarded-proto", "x-forwarded-ssl"];
const SCHEME_SET = new Set(SCHEME);

const STEPS: Record<string, Step> = {
  none: () => {},
  /** Nothing, timed: the clock's own cost, subtracted from the others' in-place times. */
  empty: () => {},
  /** Lifting Bun's idle timer when the request arrives. */
  t0: (req, server) => server.timeout(req, 0),
  /** Setting it again after the response. */
  tidle: (req, server) => server.timeout(req, 8),
  /** Whether the request has a body: the native `body` getter (null for a GET). */
  body: (req) => {
    if (nativeBody.call(req) !== null) sink++;
  },
  /** Making `req.headers` (Bun builds it from the parsed head on first use). */
  headers: (req) => {
    if (req.headers === null) sink++;
  },
  /** `headers.count`. */
  count: (req) => {
    sink += req.headers.count;
  },
  /** `headers.get("host")` and `headers.get("content-type")`. */
  gets: (req) => {
    sink += (req.headers.get("host") ?? "").length + (req.headers.get("content-type") ?? "").length;
  },
  /** A pass over `headers.keys()` for `_` and scheme headers (bunicorn before this work). */
  keys: (req) => {
    for (const name of req.headers.keys()) {
      if (name.includes("_")) sink++;
      if (SCHEME_SET.has(name)) sink++;
    }
  },
  /** `headers.toJSON()`: every name and value in one native call. */
  tojson: (req) => {
    (req as unknown as { head: unknown }).head = req.headers.toJSON();
  },
  /** What the checks do with it: Host, Content-Type, the scheme headers, a `for...in` over the names for `_`. */
  scan: (req) => {
    const head = ((req as unknown as { head?: Record<string, unknown> }).head ??= req.headers.toJSON());
    sink += String(head.host ?? "").length + String(head["content-type"] ?? "").length;
    for (const name in head) if (name.includes("_")) sink++;
    for (const n of SCHEME) if (head[n] !== undefined) sink++;
  },
  /** Three `has()` for the scheme headers. */
  has3: (req) => {
    const h = req.headers;
    for (const n of SCHEME) if (h.has(n)) sink++;
  },
  /** The in-memory body test (the response's url and JSC's shallow size). */
  shallow: (_req, _server, res) => {
    if (res.url === "" && estimateShallowMemoryUsageOf(res) > 10) sink++;
  },
  /** Reading the response's headers (Bun then builds a Headers object). */
  resheaders: (_req, _server, res) => {
    if (res.headers.has("content-type")) sink++;
  },
  /** `Bun.inspect(res)`, how src/http/blob-body.ts tells a file body from a stream. */
  inspect: (_req, _server, res) => {
    sink += Bun.inspect(res, { depth: 0 }).length;
  },
  /** `server.requestIP(req)` (how reuse-port-pending.ts sees a response still going out). */
  ip: (req, server) => {
    sink += server.requestIP(req) === null ? 0 : 1;
  },
};

const BROWSER_HEADERS = [
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "Accept-Language: en-US,en;q=0.9",
  "Accept-Encoding: gzip, deflate, br",
  "Cookie: _ga=GA1.2.3; session=abcdef",
  "Referer: http://example.com/page",
  "Sec-Fetch-Mode: navigate",
  "Sec-Fetch-Site: same-origin",
  "Upgrade-Insecure-Requests: 1",
  "Cache-Control: max-age=0",
];

function pathOf(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? "/" : url.slice(i);
}

function serve(port: number, names: string[]): void {
  const steps = names.map((n) => {
    const s = STEPS[n];
    if (s === undefined) throw new Error(`unknown step ${n}`);
    return s;
  });
  const dir = mkdtempSync(join(tmpdir(), "steps-"));
  const file = join(dir, "1mb.bin");
  writeFileSync(file, Buffer.alloc(1 << 20, "x"));
  const spent = new Float64Array(steps.length);
  const marks = new Float64Array(steps.length + 1);
  let counted = 0;
  const now = performance.now.bind(performance);
  Bun.serve({
    port,
    hostname: "127.0.0.1",
    development: false,
    reusePort: true,
    idleTimeout: 8,
    fetch(req, server) {
      const path = pathOf(req.url);
      const res = path === "/" ? new Response("Hello, World!") : path === "/static" ? new Response(Bun.file(file)) : new Response("Not Found", { status: 404 });
      marks[0] = now();
      for (let i = 0; i < steps.length; i++) {
        steps[i]!(req, server, res);
        marks[i + 1] = now();
      }
      // A request preempted in the middle (over 50 µs) is left out.
      if (marks[steps.length]! - marks[0]! < 0.05) {
        counted++;
        for (let i = 0; i < steps.length; i++) spent[i]! += marks[i + 1]! - marks[i]!;
      }
      return res;
    },
  });
  process.on("SIGTERM", () => {
    rmSync(dir, { recursive: true, force: true });
    // Each step's mean in-place time, µs.
    console.log(JSON.stringify(names.map((n, i) => [n, (spent[i]! * 1000) / Math.max(1, counted)])));
    process.exit(0);
  });
  console.log("ready");
}

/** User and system CPU ticks of `pid` (read after the comm's ')': a comm may hold spaces). */
function cpuTicks(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return [Number(parts[11]), Number(parts[12])];
}

async function wrk(port: number, seconds: number, path: string, headers: string[]): Promise<number> {
  const args = ["wrk", "-t1", "-c32", `-d${seconds}s`, ...headers.flatMap((h) => ["-H", h]), `http://127.0.0.1:${port}${path}`];
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const m = /(\d+) requests in/.exec(out);
  return m ? Number(m[1]) : 0;
}

interface Result {
  user: number;
  total: number;
  inPlace: Map<string, number>;
}

async function measure(variant: string, port: number, path: string, headers: string[]): Promise<Result> {
  const steps = variant === "none" ? "none" : `empty,${variant}`;
  const p = Bun.spawn([process.execPath, import.meta.path, "--serve", String(port), steps], { stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  const decoder = new TextDecoder();
  let out = decoder.decode((await reader.read()).value);
  await wrk(port, 1, path, headers);
  const [u0, s0] = cpuTicks(p.pid);
  const n = await wrk(port, 3, path, headers);
  const [u1, s1] = cpuTicks(p.pid);
  p.kill();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    out += decoder.decode(r.value);
  }
  await p.exited;
  const line = out.split("\n").find((l) => l.startsWith("["));
  const timed = new Map<string, number>(line ? (JSON.parse(line) as [string, number][]) : []);
  const clock = timed.get("empty") ?? 0;
  timed.delete("empty");
  timed.delete("none");
  for (const [k, v] of timed) timed.set(k, v - clock);
  // 100 ticks per second -> µs per request.
  return { user: ((u1 - u0) * 10000) / n, total: ((u1 - u0 + s1 - s0) * 10000) / n, inPlace: timed };
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const args = process.argv.slice(2);
if (args[0] === "--serve") {
  serve(Number(args[1]), (args[2] ?? "none").split(","));
} else {
  let path = "/";
  let headers: string[] = [];
  for (;;) {
    if (args[0] === "--path") {
      path = args[1]!;
      args.splice(0, 2);
    } else if (args[0] === "--headers") {
      headers = args[1] === "browser" ? BROWSER_HEADERS : [];
      args.splice(0, 2);
    } else break;
  }
  const rounds = Number(args[0] ?? 4);
  const variants = args.length > 1 ? args.slice(1) : ["none", "headers", "headers,tojson,scan", "headers,count,gets,keys", "t0,tidle", "body", "shallow"];
  const results = new Map<string, Result[]>(variants.map((v) => [v, []]));
  let port = 28730;
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) results.get(v)!.push(await measure(v, port++, path, headers));
  }
  const base = results.get(variants[0]!)!;
  const baseUser = median(base.map((x) => x.user));
  const baseTotal = median(base.map((x) => x.total));
  console.log(`GET ${path}, ${headers.length + 1} request fields, ${rounds} rounds; medians (difference to ${variants[0]})`);
  for (const v of variants) {
    const rs = results.get(v)!;
    const user = median(rs.map((x) => x.user));
    const total = median(rs.map((x) => x.total));
    const steps = [...(rs[0]?.inPlace.keys() ?? [])].map((k) => `${k} ${median(rs.map((x) => x.inPlace.get(k) ?? 0)).toFixed(2)}`);
    const d = (x: number) => (x >= 0 ? "+" : "") + x.toFixed(2);
    console.log(`${v.padEnd(28)} user ${user.toFixed(2)} (${d(user - baseUser)})  total ${total.toFixed(2)} (${d(total - baseTotal)}) µs/request   in place: ${steps.join(", ") || "-"}`);
  }
}
