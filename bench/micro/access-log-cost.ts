/**
 * What the access log costs a single bunicorn worker: `-w 1` serving bench/apps/hello.ts, loaded
 * with `wrk -t1 -c32` keep-alive (or bench/lib/loadgen.ts for a unix socket) after a 1 s warm-up,
 * the worker's CPU time per request (user and user + system from /proc/PID/stat; a worker's comm
 * is `bunicorn worker`, so the fields are read after the last `)`), in rounds that run every
 * variant once, in a rotated order. Prints one line per run and the medians per variant.
 *
 *     flock /tmp/bench.lock npx bun bench/micro/access-log-cost.ts [--tree NAME=DIR ...] [--seconds 3] ROUNDS VARIANT...
 *
 * A variant is `TREE:MODE:LOG`: TREE a name given with `--tree` (`new` is this checkout), MODE
 * `reuse` (default TCP mode), `shared` (`--no-reuse-port`) or `unix` (`-b unix:`), LOG `off`,
 * `file` (`--access-logfile` to a file in a temp dir) or `dash` (`--access-logfile -`, stdout to
 * /dev/null). An optional fourth part is passed to the server as the environment variable
 * `ALOG_X` (for experiment copies of the tree that switch steps off by it).
 * `--format F` sets `--access-logformat` (default: the default format).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { children } from "../lib/process-group.ts";

const args = process.argv.slice(2);
const trees: Record<string, string> = { new: resolve(import.meta.dir, "../..") };
let seconds = 3;
let format: string | null = null;
const rest: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--tree") {
    const [k, v] = args[++i]!.split("=");
    trees[k!] = resolve(v!);
  } else if (args[i] === "--seconds") seconds = Number(args[++i]);
  else if (args[i] === "--format") format = args[++i]!;
  else rest.push(args[i]!);
}
const rounds = Number(rest[0] ?? 3);
const variants = rest.slice(1);
if (!variants.length) throw new Error("give ROUNDS VARIANT... (TREE:reuse|shared|unix:off|file|dash)");

const dir = mkdtempSync(join(tmpdir(), "alog-cost-"));
let port = 28750;

function cpuTicks(pid: number): [number, number] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]), Number(f[12])];
}
function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
/** The worker: the descendant of `root` whose comm says so. */
function findWorker(root: number): number | null {
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    if (p !== root && comm(p).includes("worker")) return p;
    queue.push(...children(p));
  }
  return null;
}

const HZ = 100;
type Result = { user: number; total: number; rps: number };

async function run(variant: string): Promise<Result> {
  const [tree, mode, log, x = ""] = variant.split(":");
  const root = trees[tree!];
  if (!root) throw new Error(`unknown tree ${tree}`);
  const p = port++;
  const sock = join(dir, `s${p}.sock`);
  const bind = mode === "unix" ? `unix:${sock}` : `127.0.0.1:${p}`;
  const argv = ["npx", "bun", join(root, "cli/bunicorn.ts"), join(root, "bench/apps/hello.ts"), "-w", "1", "-b", bind];
  if (mode === "shared") argv.push("--no-reuse-port");
  if (log === "file") argv.push("--access-logfile", join(dir, `access-${p}.log`));
  if (log === "dash") argv.push("--access-logfile", "-");
  if (format !== null) argv.push("--access-logformat", format);
  const proc = Bun.spawn(argv, { cwd: root, stdout: "ignore", stderr: "ignore", detached: true, env: { ...process.env, ALOG_X: x } });
  try {
    let worker: number | null = null;
    for (let i = 0; i < 200 && worker === null; i++) {
      await Bun.sleep(50);
      try {
        const r = mode === "unix" ? await fetch("http://localhost/", { unix: sock }) : await fetch(`http://127.0.0.1:${p}/`);
        await r.text();
        if (r.status === 200) worker = findWorker(proc.pid);
      } catch {}
    }
    if (worker === null) throw new Error(`${variant}: no worker answered`);
    const load = (d: number) =>
      mode === "unix"
        ? ["npx", "bun", join(trees.new!, "bench/lib/loadgen.ts"), "--unix", sock, "-c", "32", "-p", "1", "-d", String(d)]
        : ["wrk", "-t1", "-c32", `-d${d}s`, "-s", join(trees.new!, "bench/wrk/keepalive.lua"), `http://127.0.0.1:${p}/`];
    await Bun.spawn(load(1), { stdout: "ignore", stderr: "ignore" }).exited;
    const [u0, s0] = cpuTicks(worker);
    const out = await new Response(Bun.spawn(load(seconds), { stdout: "pipe", stderr: "ignore" }).stdout).text();
    const [u1, s1] = cpuTicks(worker);
    const m = /BENCH (\{.*\})/.exec(out);
    if (!m) throw new Error(`${variant}: no BENCH line: ${out}`);
    const b = JSON.parse(m[1]!) as { requests: number; rps?: number; duration_us?: number };
    const n = b.requests;
    const rps = b.rps ?? n / ((b.duration_us ?? seconds * 1e6) / 1e6);
    return { user: (((u1 - u0) / HZ) * 1e6) / n, total: (((u1 - u0 + s1 - s0) / HZ) * 1e6) / n, rps };
  } finally {
    try {
      process.kill(-proc.pid, "SIGTERM");
    } catch {}
    await Promise.race([proc.exited, Bun.sleep(3000)]);
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {}
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const results: Record<string, Result[]> = {};
console.log(`start ${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + r) % variants.length]!;
    const res = await run(v);
    (results[v] ??= []).push(res);
    console.log(`round ${r + 1} ${v}: user ${res.user.toFixed(2)} total ${res.total.toFixed(2)} µs/req, ${Math.round(res.rps)} req/s`);
  }
}
console.log(`end ${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
for (const v of variants) {
  const rs = results[v]!;
  console.log(`median ${v}: user ${median(rs.map((x) => x.user)).toFixed(2)} total ${median(rs.map((x) => x.total)).toFixed(2)} µs/req, ${Math.round(median(rs.map((x) => x.rps)))} req/s (${rs.length} runs)`);
}
rmSync(dir, { recursive: true, force: true });
