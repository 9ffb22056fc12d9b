/**
 * @module
 * A contender's process group (each is started with `setsid`): its live members from /proc, and
 * stopping it whole (TERM, then KILL after 3 s). Shared by bench/lib/run.ts and bench/memory.ts.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface Proc { pid: number; ppid: number; pgid: number; state: string }

/** Every process on the machine, with its group and state. */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({ pid: Number(d), state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]) });
    } catch { /* gone */ }
  }
  return out;
}

/** The pids whose parent is `ppid`. */
export const children = (ppid: number): number[] => processes().filter((p) => p.ppid === ppid).map((p) => p.pid);

/** The live (not zombie) members of process group `pgid`. */
export const group = (pgid: number): Proc[] => processes().filter((p) => p.pgid === pgid && p.state !== "Z");

/** TERM to the whole group, KILL after 3 s if any member is left; waits (bounded) until it is gone. */
export async function killGroup(pgid: number): Promise<void> {
  try { process.kill(-pgid, "SIGTERM"); } catch { /* none left */ }
  for (let i = 0; i < 60 && group(pgid).length; i++) await Bun.sleep(50);
  if (group(pgid).length) {
    try { process.kill(-pgid, "SIGKILL"); } catch { /* none left */ }
    for (let i = 0; i < 40 && group(pgid).length; i++) await Bun.sleep(50);
  }
}
