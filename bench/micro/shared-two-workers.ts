/**
 * Two workers on one shared socket: why `bunicorn -w 2 --no-reuse-port` sometimes costs far more
 * CPU per keep-alive request than one worker. Each round starts the server (bunicorn from a given
 * tree, or raw Bun.serve x2 with reusePort), warms it up, then runs `wrk -t2 -c64 -d3s` keep-alive
 * and reports, per worker process: CPU time (user + system from /proc/PID/stat), voluntary and
 * involuntary context switches (/proc/PID/status), the established connections it holds in the
 * middle of the run (`ss -tnp`), and, with `--perf`, `perf stat` (context switches, cpu
 * migrations, accept4 and epoll_wait calls) on each worker for the run.
 *
 *   npx bun bench/micro/shared-two-workers.ts [--rounds N] [--perf] [--load keepalive|close]
 *       [--tree DIR ...]     (bunicorn trees to compare, alternated; default: this one)
 *       [--raw]              (also raw Bun.serve x2 reusePort in each round)
 *
 * Both contenders are started with setsid (detached), as bench/run starts them: with
 * kernel.sched_autogroup_enabled=1 a new session is its own scheduling group, and that alone moves
 * the engine's figure (bench/README.md, 2026-12-01).
 *
 * Run it under the shared lock: `flock /tmp/bench.lock npx bun bench/micro/shared-two-workers.ts`.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { children } from "../lib/process-group.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => argv.includes(name);
const val = (name: string, d: string) => {
  const i = argv.indexOf(name);
  return i < 0 ? d : argv[i + 1]!;
};
const trees: string[] = [];
for (let i = 0; i < argv.length; i++) if (argv[i] === "--tree") trees.push(argv[i + 1]!);
const here = join(import.meta.dir, "../..");
if (trees.length === 0) trees.push(here);
const rounds = Number(val("--rounds", "3"));
const load = val("--load", "keepalive");
const usePerf = opt("--perf");
const withRaw = opt("--raw");
const workersN = Number(val("--workers", "2"));
const extra = val("--args", "").split(" ").filter(Boolean);
const wrkDir = join(here, "bench/wrk/");
const PORT0 = 28970;

const stat = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "latin1");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  const st = readFileSync(`/proc/${pid}/status`, "latin1");
  const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
  const inv = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
  return { user: Number(rest[11]) * 10_000, sys: Number(rest[12]) * 10_000, vol, inv, cpu: Number(rest[36]) };
};
const threads = (pid: number): Map<string, number> => {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, "latin1");
      const comm = f.slice(f.indexOf("(") + 1, f.lastIndexOf(")"));
      const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
      m.set(`${t}:${comm}`, (Number(rest[11]) + Number(rest[12])) * 10);
    } catch {}
  }
  return m;
};
const connsByPid = (port: number): Record<string, number> => {
  const out = Bun.spawnSync(["ss", "-tnpH", "state", "established", `( sport = :${port} )`]).stdout.toString();
  const by: Record<string, number> = {};
  for (const m of out.matchAll(/pid=(\d+)/g)) by[m[1]!] = (by[m[1]!] ?? 0) + 1;
  return by;
};

async function waitUp(port: number) {
  for (let t = 0; t < 200; t++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      await r.text();
      if (r.status === 200) return;
    } catch {}
    await Bun.sleep(25);
  }
  throw new Error("server did not come up on " + port);
}

type Row = { name: string; us: number; rps: number; per: string };
const rows: Row[] = [];

async function one(name: string, port: number, start: () => { proc: Bun.Subprocess; workers: () => number[]; rest?: Bun.Subprocess[] }) {
  const { proc, workers, rest } = start();
  const want = name === "raw" ? workersN - 1 : workersN;
  await waitUp(port);
  let pids: number[] = [];
  for (let t = 0; t < 100 && pids.length < want; t++) {
    pids = workers();
    if (pids.length < want) await Bun.sleep(50);
  }
  const url = `http://127.0.0.1:${port}/`;
  Bun.spawnSync(["wrk", "-t2", "-c64", "-d1s", "-s", wrkDir + load + ".lua", url]);
  const all = [proc.pid, ...pids];
  const s0 = all.map(stat);
  const t0 = all.map(threads);
  const perfs = usePerf
    ? (name === "raw" ? all : pids).map((pid) =>
        Bun.spawn(["perf", "stat", "-x,", "-e", "task-clock,context-switches,cpu-migrations,syscalls:sys_enter_accept4,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait2,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_futex,raw_syscalls:sys_enter", "-p", String(pid)], {
          stdio: ["ignore", "ignore", "pipe"],
        }),
      )
    : [];
  const wrk = Bun.spawn(["wrk", "-t2", "-c64", "-d3s", "-s", wrkDir + load + ".lua", url], { stdout: "pipe" });
  await Bun.sleep(1500);
  const conns = connsByPid(port);
  const out = await new Response(wrk.stdout).text();
  await wrk.exited;
  const s1 = all.map(stat);
  const t1 = all.map(threads);
  const perfOut: string[] = [];
  for (const p of perfs) {
    p.kill("SIGINT");
    await p.exited;
    const txt = await new Response(p.stderr as ReadableStream).text();
    const f: Record<string, string> = {};
    for (const line of txt.split("\n")) {
      const c = line.split(",");
      if (c.length > 3) f[c[2]!.replace("syscalls:sys_enter_", "")] = c[0]!;
    }
    perfOut.push(`cs ${f["context-switches"]} mig ${f["cpu-migrations"]} accept4 ${f["accept4"]} epoll ${Number(f["epoll_wait"] ?? 0) + Number(f["epoll_pwait"] ?? 0) + Number(f["epoll_pwait2"] ?? 0)} send ${f["sendto"]} recv ${f["recvfrom"]} futex ${f["futex"]} sys ${f["raw_syscalls:sys_enter"]}`);
  }
  const m = /"requests":(\d+)/.exec(out);
  const n = m === null ? 0 : Number(m[1]);
  const dm = /"duration_us":(\d+)/.exec(out);
  const secs = dm ? Number(dm[1]) / 1e6 : 3;
  let total = 0;
  const per: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const a = s0[i]!, b = s1[i]!;
    const c = b.user - a.user + b.sys - a.sys;
    total += c;
    if (i === 0 && name !== "raw") {
      per.push(`arbiter ${(c / 1e6).toFixed(2)}s`);
      continue;
    }
    const wi = name === "raw" ? i : i - 1;
    const th: string[] = [];
    for (const [k, v] of t1[i]!) {
      const d = v - (t0[i]!.get(k) ?? 0);
      if (d > 0) th.push(`${k.slice(k.indexOf(":") + 1)} ${d}ms`);
    }
    per.push(
      `[${all[i]} threads {${th.join(", ")}} conns ${conns[String(all[i])] ?? 0} cpu ${((b.user - a.user) / 1e6).toFixed(2)}+${((b.sys - a.sys) / 1e6).toFixed(2)}s vcs ${b.vol - a.vol} ics ${b.inv - a.inv} on cpu${b.cpu}${perfOut[wi] ? " " + perfOut[wi] : ""}]`,
    );
  }
  const us = total / n;
  rows.push({ name, us, rps: n / secs, per: per.join(" ") });
  console.log(`${name.padEnd(12)} ${us.toFixed(1).padStart(6)} µs/req ${Math.round(n / secs).toString().padStart(7)} req/s  ${per.join(" ")}`);
  try {
    process.kill(-proc.pid, "SIGTERM");
  } catch {}
  for (const p of rest ?? [proc]) {
    p.kill("SIGTERM");
    await p.exited;
  }
  for (const pid of pids) {
    for (let t = 0; t < 60; t++) {
      try {
        process.kill(pid, 0);
        await Bun.sleep(50);
      } catch {
        break;
      }
    }
  }
}

for (let r = 0; r < rounds; r++) {
  for (const [ti, tree] of trees.entries()) {
    const port = PORT0 + ti;
    await one(`tree${ti}`, port, () => {
      const proc = Bun.spawn(
        [process.execPath, join(tree, "cli/bunicorn.ts"), join(here, "bench/apps/hello.ts"), "-w", String(workersN), "--no-reuse-port", "-b", `127.0.0.1:${port}`, ...extra],
        { stdio: ["ignore", "ignore", "ignore"], detached: true },
      );
      return { proc, workers: () => children(proc.pid) };
    });
  }
  if (withRaw) {
    const port = PORT0 + 9;
    await one("raw", port, () => {
      const kids = Array.from({ length: workersN }, (_, i) =>
        Bun.spawn([process.execPath, join(here, "bench/contenders/raw-bun.ts"), "--child", `127.0.0.1:${port}`, String(i)], { stdio: ["ignore", "ignore", "ignore"], detached: true }),
      );
      return { proc: kids[0]!, workers: () => kids.slice(1).map((k) => k.pid), rest: kids };
    });
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const names = [...new Set(rows.map((r) => r.name))];
console.log("\nmedian µs/req: " + names.map((nm) => `${nm} ${med(rows.filter((r) => r.name === nm).map((r) => r.us)).toFixed(1)} (${rows.filter((r) => r.name === nm).map((r) => r.us.toFixed(1)).join(", ")})`).join("; "));
