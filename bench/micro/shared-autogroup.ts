/**
 * Two shared-socket workers vs raw Bun.serve x2, each started in the caller's session or with setsid
 * (its own scheduler autogroup when kernel.sched_autogroup_enabled=1), plus two single-worker
 * servers on separate ports (sep1x2). Keep-alive, wrk -t2 -c64 (sep1x2: -t1 -c32 each), 3 s.
 *
 *   flock /tmp/bench.lock npx bun bench/micro/shared-autogroup.ts [TREE] [ROUNDS] [kinds]
 *   kinds: comma list of shared2, shared2-setsid, sep1x2, raw, raw-setsid
 */
import { readFileSync, readdirSync } from "node:fs";
const here = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const bun = process.execPath;
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, "latin1"); const r = f.slice(f.lastIndexOf(")") + 2).split(" "); return (Number(r[11]) + Number(r[12])) * 10_000; };
const kids = (pp: number) => readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => { try { const f = readFileSync(`/proc/${d}/stat`, "latin1"); return Number(f.slice(f.lastIndexOf(")") + 2).split(" ")[1]) === pp; } catch { return false; } }).map(Number);
async function up(port: number) { for (let t = 0; t < 200; t++) { try { const r = await fetch(`http://127.0.0.1:${port}/`); await r.text(); return; } catch { await Bun.sleep(25); } } throw new Error("down"); }
const tree = process.argv[2] ?? here;
async function run(kind: string) {
  const procs: Bun.Subprocess[] = []; let workers: number[] = []; let urls: string[] = [];
  const det = kind.endsWith("-setsid");
  if (kind.startsWith("shared2")) {
    const p = Bun.spawn([bun, `${tree}/cli/bunicorn.ts`, `${here}/bench/apps/hello.ts`, "-w", "2", "--no-reuse-port", "-b", "127.0.0.1:28980"], { stdio: ["ignore", "ignore", "ignore"], detached: det });
    procs.push(p); await up(28980); while ((workers = kids(p.pid)).length < 2) await Bun.sleep(50); urls = ["http://127.0.0.1:28980/"];
  } else if (kind === "sep1x2") {
    for (const port of [28981, 28982]) { const p = Bun.spawn([bun, `${tree}/cli/bunicorn.ts`, `${here}/bench/apps/hello.ts`, "-w", "1", "--no-reuse-port", "-b", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "ignore"] }); procs.push(p); await up(port); let k: number[]; while ((k = kids(p.pid)).length < 1) await Bun.sleep(50); workers.push(...k); urls.push(`http://127.0.0.1:${port}/`); }
  } else {
    for (const i of [0, 1]) { const p = Bun.spawn([bun, `${here}/bench/contenders/raw-bun.ts`, "--child", "127.0.0.1:28983", String(i)], { stdio: ["ignore", "ignore", "ignore"], detached: det }); procs.push(p); workers.push(p.pid); }
    await up(28983); await Bun.sleep(200); urls = ["http://127.0.0.1:28983/"];
  }
  const wargs = (u: string, d: string) => urls.length === 1 ? ["wrk", "-t2", "-c64", d, "-s", `${here}/bench/wrk/keepalive.lua`, u] : ["wrk", "-t1", "-c32", d, "-s", `${here}/bench/wrk/keepalive.lua`, u];
  await Promise.all(urls.map((u) => Bun.spawn(wargs(u, "-d1s"), { stdout: "ignore" }).exited));
  const c0 = workers.map(cpu);
  const outs = await Promise.all(urls.map(async (u) => { const w = Bun.spawn(wargs(u, "-d3s"), { stdout: "pipe" }); return await new Response(w.stdout).text(); }));
  const c1 = workers.map(cpu);
  const n = outs.reduce((a, o) => a + Number(/"requests":(\d+)/.exec(o)![1]), 0);
  const per = workers.map((_, i) => ((c1[i]! - c0[i]!) / 1e6).toFixed(2));
  const us = (c1.reduce((a, b) => a + b, 0) - c0.reduce((a, b) => a + b, 0)) / n;
  console.log(`${kind.padEnd(8)} ${us.toFixed(1)} µs/req ${Math.round(n / 3)} req/s workers ${per.join(" ")}s`);
  for (const p of procs) { p.kill("SIGTERM"); await p.exited; }
  await Bun.sleep(300);
  return us;
}
const res: Record<string, number[]> = {};
for (let r = 0; r < Number(process.argv[3] ?? 3); r++) for (const k of (process.argv[4] ?? "shared2,shared2-setsid,raw,raw-setsid").split(",")) (res[k] ??= []).push(await run(k));
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(Object.entries(res).map(([k, v]) => `${k} ${med(v).toFixed(1)}`).join("  "));
