/**
 * Idle memory per process, cold start, and gthread memory per thread (bench/README.md,
 * "Memory and cold start").
 *
 *   bun bench/memory.ts                    3 rounds of every contender, then the gthread table
 *   bun bench/memory.ts --rounds 5 --only raw,bunicorn
 *   bun bench/memory.ts --threads          only the gthread per-thread table
 *   bun bench/memory.ts --no-threads       skip it
 *   bun bench/memory.ts --json FILE        every sample as JSON
 *
 * Each contender is started in its own process group (setsid), timed from spawn to its first
 * 200 on GET / (a new connection every 5 ms), left idle 1.5 s, and then every live process of
 * the group is read: RSS and PSS from /proc/PID/smaps_rollup, named by its role (the arbiter,
 * a worker, raw Bun's server). Then it is killed with its group. Contenders run one at a time,
 * in an order rotated every round; the table shows the medians over the rounds.
 *
 * gthread: `-w 1 -k gthread --threads N` for N = 1, 2, 4, 8: the worker process's RSS idle and
 * after a keep-alive load (wrk -c64 for 2 s, or bench/lib/loadgen.ts when wrk is missing),
 * minus the same for N = 1, divided by N - 1: what one more thread costs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { group, killGroup } from "./lib/process-group.ts";

const BENCH = dirname(import.meta.path);
const ROOT = resolve(BENCH, "..");
const BUN = process.execPath;
const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(n);
const value = (n: string) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
const ROUNDS = Number(value("--rounds") ?? 3);
const ONLY = value("--only")?.split(",");
const SETTLE_MS = 1500;
const CLI = process.env.BENCH_BUNICORN ?? join(ROOT, "cli/bunicorn.ts");
const APP = join(BENCH, "apps/hello.ts");

interface Contender { id: string; label: string; cmd: (port: number, dir: string) => string[]; unix?: boolean }
const bunicorn = (...a: string[]) => [BUN, CLI, APP, ...a];
const contenders: Contender[] = [
  { id: "raw", label: "raw Bun.serve x2", cmd: (p) => [BUN, join(BENCH, "contenders/raw-bun.ts"), `127.0.0.1:${p}`] },
  { id: "bunicorn", label: "bunicorn -w 2 (reuse-port)", cmd: (p) => bunicorn("-w", "2", "-b", `127.0.0.1:${p}`) },
  { id: "bunicorn-shared", label: "bunicorn -w 2 --no-reuse-port", cmd: (p) => bunicorn("-w", "2", "-b", `127.0.0.1:${p}`, "--no-reuse-port") },
  { id: "bunicorn-unix", label: "bunicorn -w 2 -b unix:", unix: true, cmd: (_p, d) => bunicorn("-w", "2", "-b", `unix:${d}/s.sock`) },
  { id: "gthread", label: "bunicorn -w 1 -k gthread --threads 2", cmd: (p) => bunicorn("-w", "1", "-k", "gthread", "--threads", "2", "-b", `127.0.0.1:${p}`) },
];


interface Mem { role: string; rss: number; pss: number }
function role(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!;
    if (cmd.startsWith("bunicorn: master")) return "arbiter";
    if (cmd.startsWith("bunicorn: worker")) return "worker";
    return "server";
  } catch { return "?"; }
}
function memoryOf(pid: number): Mem | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return {
      role: role(pid),
      rss: Number(/^Rss:\s+(\d+)/m.exec(s)?.[1] ?? 0) / 1024,
      pss: Number(/^Pss:\s+(\d+)/m.exec(s)?.[1] ?? 0) / 1024,
    };
  } catch { return undefined; }
}

async function answers(port: number, unix?: string): Promise<boolean> {
  try {
    const r = await fetch(unix ? "http://localhost/" : `http://127.0.0.1:${port}/`, { keepalive: false, unix } as RequestInit);
    await r.arrayBuffer();
    return r.status === 200;
  } catch { return false; }
}


interface Started { pgid: number; port: number; unix?: string; cold: number; dir: string }
let nextPort = 28700;
async function start(cmd: string[], unix: boolean, dir = mkdtempSync(join(tmpdir(), "bench-mem-"))): Promise<Started> {
  const port = nextPort++;
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { cwd: ROOT, detached: true, stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(dir, "stderr.log")) });
  const sock = unix ? join(dir, "s.sock") : undefined;
  const deadline = t0 + 15_000;
  while (performance.now() < deadline) {
    if (await answers(port, sock)) return { pgid: proc.pid, port, unix: sock, cold: performance.now() - t0, dir };
    await Bun.sleep(5);
  }
  await killGroup(proc.pid);
  const err = readFileSync(join(dir, "stderr.log"), "utf8").slice(-400);
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`${cmd.join(" ")}: no 200 within 15 s: ${err}`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const f1 = (x: number) => x.toFixed(1);

interface Sample { id: string; round: number; cold: number; procs: Mem[] }
const samples: Sample[] = [];

async function memoryRounds() {
  const list = contenders.filter((c) => !ONLY || ONLY.includes(c.id));
  for (let round = 0; round < ROUNDS; round++) {
    const order = list.map((_, i) => list[(i + round) % list.length]!);
    for (const c of order) {
      const dir = mkdtempSync(join(tmpdir(), "bench-mem-"));
      const s = await start(c.cmd(nextPort, dir), !!c.unix, dir).catch((e) => { console.error(String(e)); return undefined; });
      if (!s) continue;
      await Bun.sleep(SETTLE_MS);
      const procs = group(s.pgid).map((p) => memoryOf(p.pid)).filter((m): m is Mem => !!m);
      await killGroup(s.pgid);
      rmSync(s.dir, { recursive: true, force: true });
      samples.push({ id: c.id, round, cold: s.cold, procs });
      const sum = (k: "rss" | "pss") => procs.reduce((a, m) => a + m[k], 0);
      console.error(`round ${round + 1}/${ROUNDS} ${c.id}: ${f1(s.cold)} ms, RSS ${f1(sum("rss"))} MB, PSS ${f1(sum("pss"))} MB (${procs.map((m) => `${m.role} ${f1(m.rss)}/${f1(m.pss)}`).join(", ")})`);
    }
  }
  const lines = [
    "| contender | idle RSS MB (ratio) | idle PSS MB (ratio) | arbiter RSS / PSS | each worker RSS / PSS | cold start ms (ratio) |",
    "|---|---|---|---|---|---|",
  ];
  const byId = (id: string) => samples.filter((s) => s.id === id);
  const tot = (s: Sample, k: "rss" | "pss") => s.procs.reduce((a, m) => a + m[k], 0);
  const raw = byId("raw");
  for (const c of list) {
    const ss = byId(c.id);
    if (!ss.length) continue;
    const ratio = (k: "rss" | "pss" | "cold") => {
      if (!raw.length) return "";
      const rs = ss.map((s) => { const r = raw.find((x) => x.round === s.round); if (!r) return NaN; return k === "cold" ? s.cold / r.cold : tot(s, k) / tot(r, k); }).filter((x) => !Number.isNaN(x));
      return rs.length ? ` (${median(rs).toFixed(2)})` : "";
    };
    const per = (r: string, k: "rss" | "pss") => { const xs = ss.flatMap((s) => s.procs.filter((m) => m.role === r).map((m) => m[k])); return xs.length ? f1(median(xs)) : "–"; };
    const arb = per("arbiter", "rss") === "–" ? "–" : `${per("arbiter", "rss")} / ${per("arbiter", "pss")}`;
    const wr = c.id === "raw" ? "server" : "worker";
    lines.push(`| ${c.label} | ${f1(median(ss.map((s) => tot(s, "rss"))))}${ratio("rss")} | ${f1(median(ss.map((s) => tot(s, "pss"))))}${ratio("pss")} | ${arb} | ${per(wr, "rss")} / ${per(wr, "pss")} | ${f1(median(ss.map((s) => s.cold)))}${ratio("cold")} |`);
  }
  console.log(lines.join("\n"));
}

async function loadFor(s: Started, seconds: number) {
  const cmd = Bun.which("wrk")
    ? ["wrk", "-t2", "-c64", `-d${seconds}s`, "-s", join(BENCH, "wrk/keepalive.lua"), `http://127.0.0.1:${s.port}/`]
    : [BUN, join(BENCH, "lib/loadgen.ts"), "--tcp", `127.0.0.1:${s.port}`, "-c", "64", "-p", "2", "-d", String(seconds)];
  const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  await p.exited;
}

async function threadTable() {
  const ns = [1, 2, 4, 8];
  const idle: Record<number, number[]> = {}, loaded: Record<number, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of ns) {
      const s = await start(bunicorn("-w", "1", "-k", "gthread", "--threads", String(n), "-b", `127.0.0.1:${nextPort}`), false);
      await Bun.sleep(SETTLE_MS);
      const worker = () => group(s.pgid).map((p) => memoryOf(p.pid)).find((m) => m?.role === "worker")?.rss ?? NaN;
      (idle[n] ??= []).push(worker());
      await loadFor(s, 2);
      await Bun.sleep(500);
      (loaded[n] ??= []).push(worker());
      await killGroup(s.pgid);
      rmSync(s.dir, { recursive: true, force: true });
      console.error(`round ${round + 1}/${ROUNDS} gthread --threads ${n}: worker RSS idle ${f1(idle[n]!.at(-1)!)} MB, after load ${f1(loaded[n]!.at(-1)!)} MB`);
    }
  }
  const lines = [
    "| --threads | worker RSS idle MB | per extra thread, idle | worker RSS after load MB | per extra thread, after load |",
    "|---|---|---|---|---|",
  ];
  const i1 = median(idle[1]!), l1 = median(loaded[1]!);
  for (const n of ns) {
    const i = median(idle[n]!), l = median(loaded[n]!);
    lines.push(`| ${n} | ${f1(i)} | ${n === 1 ? "–" : f1((i - i1) / (n - 1))} | ${f1(l)} | ${n === 1 ? "–" : f1((l - l1) / (n - 1))} |`);
  }
  console.log(lines.join("\n"));
}

if (!flag("--threads")) await memoryRounds();
if (!flag("--no-threads")) await threadTable();
const json = value("--json");
if (json) writeFileSync(json, JSON.stringify(samples, null, 2));
