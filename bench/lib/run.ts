/**
 * The benchmark runner behind `bench/run` (see bench/README.md).
 *
 * For each round, in an order rotated every round, each contender is started in its own
 * process group, timed to its first 200 (cold start), left idle to measure memory (RSS and PSS
 * summed over the group), warmed up, loaded with wrk (or bench/lib/loadgen.ts for unix
 * sockets), and killed with its whole process group. Every figure is also divided by raw
 * Bun.serve's figure from the same round; the table shows medians over the rounds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { group, killGroup } from "./process-group.ts";

const BENCH = resolve(dirname(import.meta.path), "..");
const ROOT = resolve(BENCH, "..");
const BUN = process.execPath;
const WRK_DIR = join(BENCH, "wrk");

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
if (flag("-h") || flag("--help")) {
  console.log(`usage: bench/run [--quick] [--rounds N] [--duration S] [--only ID,ID] [--skip ID,ID]
                 [--loads LOAD,LOAD] [--json FILE] [--update-readme]
  --quick          1 round, 1 s per load (about a minute)
  --rounds N       rounds (default 3)
  --duration S     seconds per throughput load (default 3); the -c1 latency run takes 3/4 of it
  --only/--skip    contender ids: ${"raw bunicorn bunicorn-log bunicorn-shared gthread node gunicorn raw-unix bunicorn-unix"}
  --loads          keepalive close static post latency (keepalive includes the unix one)
  --json FILE      write every measurement as JSON
  --update-readme  replace the results section of bench/README.md with this run's table`);
  process.exit(0);
}
const QUICK = flag("--quick");
const ROUNDS = Number(value("--rounds") ?? (QUICK ? 1 : 3));
// wrk takes whole seconds.
const DUR = Math.max(1, Math.round(Number(value("--duration") ?? (QUICK ? 1 : 3))));
const LAT_DUR = Math.max(1, Math.round(DUR * 0.75));
const WARM = QUICK ? 0.5 : 1;
const SETTLE_MS = QUICK ? 1000 : 1500;
const ONLY = value("--only")?.split(",");
const SKIP = value("--skip")?.split(",") ?? [];
const LOADS = value("--loads")?.split(",");

// ---------------------------------------------------------------------------------------------
// Contenders

type Load = "keepalive" | "close" | "static" | "post" | "latency" | "unix-keepalive";
const ALL_TCP: Load[] = ["keepalive", "close", "static", "post", "latency"];

interface Contender {
  id: string;
  label: string;
  /** TCP port, or the unix socket paths to load (several for raw Bun: one per process). */
  cmd(addr: Addr): string[];
  unix?: boolean;
  loads: Load[];
  /** The contender whose same-round figures are the denominator of the ratios. */
  ref: string;
  cwd?: string;
  /** Called after the contender is stopped; returns a note for the report. */
  after?(addr: Addr): string | undefined;
}
interface Addr {
  port: number;
  /** Where the contender binds (unix mode). */
  bindPath: string;
  /** Where the load generator connects (unix mode). */
  paths: string[];
  dir: string;
}

const cli = (...args: string[]) => [BUN, join(ROOT, "cli/bunicorn.ts"), join(BENCH, "apps/hello.ts"), "-w", "2", ...args];

function gthreadAvailable(): boolean {
  const r = Bun.spawnSync([BUN, join(ROOT, "cli/bunicorn.ts"), "--check-config", "-k", "gthread", "--threads", "2", join(BENCH, "apps/hello.ts")], {
    cwd: ROOT, stdout: "ignore", stderr: "ignore",
  });
  return r.exitCode === 0;
}

function gunicornPath(): string | undefined {
  return Bun.which("gunicorn") ?? undefined;
}

const contenders: Contender[] = [
  {
    id: "raw",
    label: "raw Bun.serve x2 (reusePort)",
    cmd: (a) => [BUN, join(BENCH, "contenders/raw-bun.ts"), `127.0.0.1:${a.port}`],
    loads: ALL_TCP,
    ref: "raw",
  },
  {
    id: "bunicorn",
    label: "bunicorn reuse-port",
    cmd: (a) => cli("-b", `127.0.0.1:${a.port}`),
    loads: ALL_TCP,
    ref: "raw",
  },
  {
    id: "bunicorn-log",
    label: "bunicorn reuse-port, access log on",
    cmd: (a) => cli("-b", `127.0.0.1:${a.port}`, "--access-logfile", join(a.dir, "access.log")),
    loads: ["keepalive", "close"],
    ref: "raw",
    after(a) {
      const f = join(a.dir, "access.log");
      const lines = existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean).length : 0;
      rmSync(f, { force: true });
      return `access log lines: ${lines}`;
    },
  },
  {
    id: "bunicorn-shared",
    label: "bunicorn shared-socket (TCP)",
    cmd: (a) => cli("-b", `127.0.0.1:${a.port}`, "--no-reuse-port"),
    loads: ALL_TCP,
    ref: "raw",
  },
  {
    id: "gthread",
    label: "bunicorn gthread (-w 1 --threads 2)",
    cmd: (a) => [BUN, join(ROOT, "cli/bunicorn.ts"), join(BENCH, "apps/hello.ts"), "-w", "1", "-k", "gthread", "--threads", "2", "-b", `127.0.0.1:${a.port}`],
    loads: ALL_TCP,
    ref: "raw",
  },
  {
    id: "node",
    label: "Node cluster x2 (node:http)",
    cmd: (a) => ["node", join(BENCH, "contenders/node-cluster.js"), `127.0.0.1:${a.port}`],
    loads: ALL_TCP,
    ref: "raw",
  },
  {
    id: "gunicorn",
    label: "Gunicorn x2 (sync, Debian)",
    cmd: (a) => [gunicornPath()!, "-w", "2", "-b", `127.0.0.1:${a.port}`, "--chdir", join(BENCH, "apps"), "hello_wsgi:app"],
    loads: ALL_TCP,
    ref: "raw",
  },
  {
    id: "raw-unix",
    label: "raw Bun.serve x2, unix (1 path each)",
    unix: true,
    cmd: (a) => [BUN, join(BENCH, "contenders/raw-bun.ts"), `unix:${a.bindPath}`],
    loads: ["unix-keepalive"],
    ref: "raw-unix",
  },
  {
    id: "bunicorn-unix",
    label: "bunicorn shared-socket (unix)",
    unix: true,
    cmd: (a) => cli("-b", `unix:${a.bindPath}`),
    loads: ["unix-keepalive"],
    ref: "raw-unix",
  },
];

// ---------------------------------------------------------------------------------------------
// Process groups

/** RSS and PSS in MiB summed over the live processes of a group. */
function groupMemory(pgid: number): { rss: number; pss: number; procs: number } {
  let rss = 0, pss = 0, procs = 0;
  for (const p of group(pgid)) {
    try {
      const s = readFileSync(`/proc/${p.pid}/smaps_rollup`, "utf8");
      rss += Number(/^Rss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
      procs++;
    } catch { /* gone */ }
  }
  return { rss: rss / 1024, pss: pss / 1024, procs };
}

/** CPU time (user + system, all threads) of the live processes of a group, in microseconds. */
function groupCpuUs(pgid: number): number {
  let ticks = 0;
  for (const p of group(pgid)) {
    try {
      const stat = readFileSync(`/proc/${p.pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch { /* gone */ }
  }
  return (ticks * 1e6) / CLK_TCK;
}
const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;


// ---------------------------------------------------------------------------------------------
// Measurements

async function answers(c: Contender, a: Addr): Promise<boolean> {
  try {
    if (c.unix) {
      for (const unix of a.paths) {
        const r = await fetch("http://localhost/", { unix, keepalive: false } as RequestInit);
        await r.arrayBuffer();
        if (r.status !== 200) return false;
      }
      return true;
    }
    const r = await fetch(`http://127.0.0.1:${a.port}/`, { keepalive: false } as RequestInit);
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

interface WrkResult { cpu_us_per_req?: number; rps: number; p50_us?: number; p99_us?: number; errors: number; requests: number; bytes?: number }

async function runTool(cmd: string[]): Promise<WrkResult> {
  const p = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  const line = out.split("\n").find((l) => l.startsWith("BENCH "));
  if (!line) throw new Error(`no result from ${cmd.join(" ")}: ${out}${err}`);
  const r = JSON.parse(line.slice(6));
  // wrk counts the server's close after a "Connection: close" response as a read error, so
  // only connect, write, timeout and non-2xx/3xx status errors count as failures.
  const errors = typeof r.errors === "number" ? r.errors
    : r.errors.connect + r.errors.write + r.errors.timeout + r.errors.status;
  return { rps: r.rps, p50_us: r.p50_us, p99_us: r.p99_us, errors, requests: r.requests, bytes: r.bytes };
}

function loadCmd(load: Load, a: Addr, seconds: number): string[] {
  const url = `http://127.0.0.1:${a.port}`;
  const wrk = (script: string, path: string, t = 2, c = 64) =>
    ["wrk", `-t${t}`, `-c${c}`, `-d${seconds}s`, "-s", join(WRK_DIR, script), url + path];
  switch (load) {
    case "keepalive": return wrk("keepalive.lua", "/");
    case "close": return wrk("close.lua", "/");
    case "static": return wrk("keepalive.lua", "/static");
    case "post": return wrk("post.lua", "/echo");
    case "latency": return wrk("keepalive.lua", "/", 1, 1);
    case "unix-keepalive":
      return [BUN, join(BENCH, "lib/loadgen.ts"), "--unix", a.paths.join(","), "-c", "64", "-p", "2", "-d", String(seconds)];
  }
}

interface Sample {
  round: number;
  contender: string;
  started: boolean;
  cold_ms?: number;
  rss?: number;
  pss?: number;
  procs?: number;
  loads: Partial<Record<Load, WrkResult>>;
  note?: string;
}

interface Running { c: Contender; a: Addr; pgid: number; sample: Sample }

/** Start a contender in its own process group; time it to its first 200, then measure its idle memory. */
async function start(c: Contender, round: number, port: number, staticFile: string, workdir: string): Promise<Running | Sample> {
  const dir = mkdtempSync(join(workdir, `${c.id}-`));
  const bindPath = join(dir, "s.sock");
  const a: Addr = { port, bindPath, dir, paths: c.id === "raw-unix" ? [`${bindPath}.0`, `${bindPath}.1`] : [bindPath] };
  const sample: Sample = { round, contender: c.id, started: false, loads: {} };
  const t0 = performance.now();
  const proc = Bun.spawn(c.cmd(a), {
    cwd: c.cwd ?? ROOT,
    detached: true, // setsid: the contender leads its own process group
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(join(dir, "stderr.log")),
    env: { ...process.env, BENCH_STATIC_FILE: staticFile },
  });
  const pgid = proc.pid;
  let exitedEarly = false;
  void proc.exited.then((code) => { if (code !== 0) exitedEarly = true; });
  const deadline = t0 + 15_000;
  while (performance.now() < deadline && !exitedEarly) {
    if (await answers(c, a)) { sample.started = true; break; }
    await Bun.sleep(5);
  }
  const running = { c, a, pgid, sample };
  if (!sample.started) {
    const err = existsSync(join(dir, "stderr.log")) ? readFileSync(join(dir, "stderr.log"), "utf8") : "";
    const last = err.split("\n").filter((l) => /error/i.test(l)).pop() ?? err.split("\n").filter(Boolean).pop() ?? "";
    sample.note = `did not answer 200 within 15 s${last ? `: ${last.trim().slice(0, 160)}` : ""}`;
    await stop(running);
    return sample;
  }
  sample.cold_ms = performance.now() - t0;
  await Bun.sleep(SETTLE_MS);
  Object.assign(sample, groupMemory(pgid));
  return running;
}

async function warm(r: Running) {
  await runTool(loadCmd(r.c.unix ? "unix-keepalive" : "keepalive", r.a, WARM)).catch(() => undefined);
}

async function load(r: Running, l: Load) {
  try {
    const cpu0 = groupCpuUs(r.pgid);
    const x = await runTool(loadCmd(l, r.a, l === "latency" ? LAT_DUR : DUR));
    x.cpu_us_per_req = (groupCpuUs(r.pgid) - cpu0) / Math.max(1, x.requests);
    r.sample.loads[l] = x;
  } catch (e) {
    r.sample.note = [r.sample.note, `${l} failed: ${String(e).split("\n")[0]}`].filter(Boolean).join("; ");
  }
}

async function stop(r: Running) {
  await killGroup(r.pgid);
  r.sample.note = [r.sample.note, r.c.after?.(r.a)].filter(Boolean).join("; ") || undefined;
  rmSync(r.a.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Report

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmtN = (x: number, digits = 0) => Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–";
const fmtR = (x: number) => Number.isFinite(x) ? x.toFixed(2) : "–";

type Metric = (s: Sample) => number | undefined;
const metrics: Record<string, { get: Metric; unit: string; digits?: number; lowerBetter?: boolean }> = {
  keepalive: { get: (s) => s.loads.keepalive?.rps ?? s.loads["unix-keepalive"]?.rps, unit: "req/s" },
  close: { get: (s) => s.loads.close?.rps, unit: "req/s" },
  static: { get: (s) => s.loads.static?.rps, unit: "MB/s" },
  post: { get: (s) => s.loads.post?.rps, unit: "req/s" },
  p50: { get: (s) => s.loads.latency?.p50_us, unit: "µs", lowerBetter: true },
  p99: { get: (s) => s.loads.latency?.p99_us, unit: "µs", lowerBetter: true },
  rss: { get: (s) => s.rss, unit: "MB", digits: 0, lowerBetter: true },
  pss: { get: (s) => s.pss, unit: "MB", digits: 0, lowerBetter: true },
  cold: { get: (s) => s.cold_ms, unit: "ms", lowerBetter: true },
  cpu_keepalive: { get: (s) => (s.loads.keepalive ?? s.loads["unix-keepalive"])?.cpu_us_per_req, unit: "µs", digits: 1, lowerBetter: true },
  cpu_close: { get: (s) => s.loads.close?.cpu_us_per_req, unit: "µs", digits: 1, lowerBetter: true },
  cpu_static: { get: (s) => s.loads.static?.cpu_us_per_req, unit: "µs", digits: 0, lowerBetter: true },
  cpu_post: { get: (s) => s.loads.post?.cpu_us_per_req, unit: "µs", digits: 1, lowerBetter: true },
};

interface Cell { value: number; ratio: number; n: number }

function summarize(samples: Sample[], active: Contender[]) {
  const table: Record<string, Record<string, Cell>> = {};
  for (const c of active) {
    table[c.id] = {};
    for (const [name, m] of Object.entries(metrics)) {
      const mine = samples.filter((s) => s.contender === c.id && s.started);
      const values = mine.map((s) => m.get(s)).filter((v): v is number => v !== undefined);
      const ratios = mine.map((s) => {
        const ref = samples.find((r) => r.round === s.round && r.contender === c.ref);
        const v = m.get(s), rv = ref && m.get(ref);
        return v !== undefined && rv ? v / rv : NaN;
      });
      table[c.id]![name] = { value: median(values), ratio: median(ratios), n: values.length };
    }
  }
  return table;
}

function machine(): string {
  const sh = (cmd: string[]) => {
    try { return Bun.spawnSync(cmd).stdout.toString().trim(); } catch { return "?"; }
  };
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
  const mem = Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1048576);
  const gun = gunicornPath() ? sh([gunicornPath()!, "--version"]) : "not installed";
  return [
    `- Date: ${sh(["date", "-u"])}`,
    `- Machine: ${sh(["nproc"])} CPUs (${cpu}), ${mem} GiB RAM, Linux ${sh(["uname", "-r"])}`,
    `- Bun ${Bun.version}, Node ${sh(["node", "--version"])}, ${sh(["wrk", "--version"]).split("\n")[0]?.split(" Copyright")[0]}, ${gun}`,
    `- Rounds: ${ROUNDS}, ${DUR} s per throughput load, ${LAT_DUR} s for -c1 latency${QUICK ? " (--quick)" : ""}`,
  ].join("\n");
}

function render(samples: Sample[], active: Contender[]): string {
  const t = summarize(samples, active);
  const cell = (id: string, m: string, digits = metrics[m]!.digits ?? 0) => {
    const x = t[id]![m]!;
    if (!x.n) return "–";
    return `${fmtN(metrics[m]!.unit === "MB/s" ? x.value * 1.048576 : x.value, digits)} (${fmtR(x.ratio)})`;
  };
  const lines: string[] = [];
  lines.push("| contender | keep-alive req/s | Connection: close req/s | static 1 MB, MB/s | POST 64 KB req/s | -c1 p50 µs | -c1 p99 µs | idle RSS MB | idle PSS MB | cold start ms |");
  lines.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const c of active) {
    const row = t[c.id]!;
    if (!row.keepalive!.n && !row.cold!.n) {
      const note = samples.find((s) => s.contender === c.id && s.note)?.note ?? "did not start";
      lines.push(`| ${c.label} | ${note} | | | | | | | | |`);
      continue;
    }
    lines.push(`| ${c.label} | ${cell(c.id, "keepalive")} | ${cell(c.id, "close")} | ${cell(c.id, "static")} | ${cell(c.id, "post")} | ${cell(c.id, "p50")} | ${cell(c.id, "p99")} | ${cell(c.id, "rss")} | ${cell(c.id, "pss")} | ${cell(c.id, "cold")} |`);
  }
  const cpu: string[] = [];
  cpu.push("| contender | keep-alive | Connection: close | static 1 MB | POST 64 KB |");
  cpu.push("|---|---|---|---|---|");
  for (const c of active) {
    if (!["cpu_keepalive", "cpu_close", "cpu_static", "cpu_post"].some((m) => t[c.id]![m]!.n)) continue;
    cpu.push(`| ${c.label} | ${cell(c.id, "cpu_keepalive")} | ${cell(c.id, "cpu_close")} | ${cell(c.id, "cpu_static")} | ${cell(c.id, "cpu_post")} |`);
  }
  const notes = new Set<string>();
  for (const s of samples) {
    const errs = Object.entries(s.loads).filter(([, r]) => r && r.errors > 0).map(([l, r]) => `${l}: ${r!.errors} errors`);
    if (errs.length) notes.add(`${s.contender} round ${s.round}: ${errs.join(", ")}`);
    if (s.note) notes.add(`${s.contender} round ${s.round}: ${s.note}`);
  }
  // Access log on vs off, same round.
  const logRatios = (load: Load) => median(samples.filter((s) => s.contender === "bunicorn-log").map((s) => {
    const off = samples.find((r) => r.round === s.round && r.contender === "bunicorn");
    return (s.loads[load]?.rps ?? NaN) / (off?.loads[load]?.rps ?? NaN);
  }));
  const extra: string[] = [];
  if (active.some((c) => c.id === "bunicorn-log") && active.some((c) => c.id === "bunicorn")) {
    extra.push(`Access log on / off (same round, median): keep-alive ${fmtR(logRatios("keepalive"))}, Connection: close ${fmtR(logRatios("close"))}`);
  }
  return [
    machine(),
    "",
    "Medians over the rounds; in parentheses the median of each round's ratio to raw Bun.serve x2 from the same round",
    "(the unix rows: to raw Bun.serve on unix sockets, both loaded by bench/lib/loadgen.ts). Throughput: higher is better;",
    "latency, memory and cold start: lower is better.",
    "",
    ...lines,
    "",
    "Server CPU time per request, µs (user + system of all the contender's processes during the load, divided by the",
    "requests served; less sensitive to other programs on the machine than req/s). In parentheses: ratio to raw Bun, lower is better.",
    "",
    ...cpu,
    "",
    ...extra,
    ...(notes.size ? ["", "Notes:", ...[...notes].map((n) => `- ${n}`)] : []),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  if (!Bun.which("wrk")) {
    console.error("wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk");
    process.exit(1);
  }
  const active = contenders.filter((c) => {
    if (ONLY && !ONLY.includes(c.id)) return false;
    if (SKIP.includes(c.id)) return false;
    if (c.id === "gthread" && !gthreadAvailable()) { console.error("skipping gthread: bunicorn --check-config -k gthread fails"); return false; }
    if (c.id === "gunicorn" && !gunicornPath()) { console.error("skipping gunicorn: not installed (apt-get install -y gunicorn)"); return false; }
    if (c.id === "node" && !Bun.which("node")) { console.error("skipping node: not installed"); return false; }
    return true;
  });
  // Ratios need their reference in the same round.
  for (const c of [...active]) {
    if (!active.some((r) => r.id === c.ref)) active.unshift(contenders.find((r) => r.id === c.ref)!);
  }
  const uniq = [...new Map(active.map((c) => [c.id, c])).values()];

  const workdir = mkdtempSync(join(tmpdir(), "bunicorn-bench-"));
  const staticFile = join(workdir, "1mb.bin");
  writeFileSync(staticFile, Buffer.alloc(1 << 20, "x"));
  const samples: Sample[] = [];
  const dead = new Set<string>();
  let port = 28100;
  const running: Running[] = [];
  const cleanup = async () => {
    for (const r of running.splice(0)) await stop(r);
    rmSync(workdir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => { void cleanup().then(() => process.exit(130)); });
  process.on("SIGTERM", () => { void cleanup().then(() => process.exit(143)); });
  const loads: Load[] = ["keepalive", "close", "static", "post", "latency", "unix-keepalive"];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Start every contender, one at a time (cold start and idle memory are measured while
      // the others sit idle), in an order rotated every round.
      const k = (round - 1) % uniq.length;
      for (const c of [...uniq.slice(k), ...uniq.slice(0, k)]) {
        if (dead.has(c.id)) continue;
        port = port >= 28990 ? 28100 : port + 1;
        const r = await start(c, round, port, staticFile, workdir);
        if ("c" in r) {
          running.push(r);
          samples.push(r.sample);
          process.stderr.write(`round ${round}/${ROUNDS}: started ${c.label}: ${fmtN(r.sample.cold_ms!)} ms to first 200, RSS ${fmtN(r.sample.rss!)} MB, PSS ${fmtN(r.sample.pss!)} MB\n`);
        } else {
          samples.push(r);
          dead.add(c.id);
          process.stderr.write(`round ${round}/${ROUNDS}: ${c.label}: ${r.note}\n`);
        }
      }
      for (const r of running) await warm(r);
      // Then each load, alternating contenders back to back, so that every ratio to raw Bun
      // compares runs a few seconds apart.
      for (const [li, l] of loads.entries()) {
        if (LOADS && !LOADS.includes(l) && !(l === "unix-keepalive" && LOADS.includes("keepalive"))) continue;
        const these = running.filter((r) => r.c.loads.includes(l));
        if (!these.length) continue;
        const j = (round - 1 + li) % these.length;
        const line: string[] = [];
        for (const r of [...these.slice(j), ...these.slice(0, j)]) {
          await Bun.sleep(300);
          await load(r, l);
          const x = r.sample.loads[l];
          line.push(`${r.c.id} ${x ? fmtN(l === "latency" ? x.p50_us! : x.rps) : "failed"}`);
        }
        process.stderr.write(`round ${round}/${ROUNDS}: ${l}${l === "latency" ? " p50 µs" : ""}: ${line.join(", ")}\n`);
      }
      for (const r of running.splice(0)) await stop(r);
    }
  } finally {
    await cleanup();
  }
  const report = render(samples, uniq);
  console.log("\n" + report);
  const json = value("--json");
  if (json) writeFileSync(json, JSON.stringify({ samples }, null, 1));
  if (flag("--update-readme")) {
    const readme = join(BENCH, "README.md");
    const text = readFileSync(readme, "utf8");
    const start = "<!-- bench:results:start -->", end = "<!-- bench:results:end -->";
    const i = text.indexOf(start), j = text.indexOf(end);
    if (i < 0 || j < 0) throw new Error("bench/README.md has no results markers");
    writeFileSync(readme, `${text.slice(0, i + start.length)}\n${report}\n${text.slice(j)}`);
    console.error("bench/README.md updated");
  }
}

await main();
