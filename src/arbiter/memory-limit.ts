/**
 * @module
 * `max_memory`: which worker to recycle for its memory. A worker counts a strike for each
 * heartbeat whose RSS is above the limit (a heartbeat under it clears them); at two strikes in a
 * row it is recycled as `max_requests` recycles (the arbiter boots its replacement first), and
 * never while another worker is being recycled for memory, so a leak shared by every worker
 * takes them down one at a time.
 */

/** Heartbeats in a row above the limit before a worker is recycled. */
export const MEMORY_STRIKES = 2;

/** What the policy reads and writes of a worker (the arbiter's worker handle satisfies it). */
export interface MemoryWatched {
  readonly pid: number;
  readonly booted: boolean;
  readonly stopping: boolean;
  readonly retiring: boolean;
  readonly retireReason: string | null;
  readonly rss: number;
  memoryStrikes: number;
}

/** A heartbeat's RSS: one more strike above `limit`, none at or below it. */
export function noteRss(w: MemoryWatched, rss: number, limit: number): void {
  w.memoryStrikes = rss > limit ? w.memoryStrikes + 1 : 0;
}

/**
 * The worker to recycle for memory now, or null: the one furthest over the limit among those
 * with enough strikes, unless a memory recycle is still under way (a worker retiring for memory
 * that has not exited yet).
 */
export function overMemory<W extends MemoryWatched>(workers: Iterable<W>, limit: number): W | null {
  let pick: W | null = null;
  for (const w of workers) {
    if (w.retiring && w.retireReason === "memory") return null;
    if (!w.booted || w.stopping || w.retiring || w.memoryStrikes < MEMORY_STRIKES || w.rss <= limit) continue;
    if (pick === null || w.rss > pick.rss) pick = w;
  }
  return pick;
}

/** Bytes as the log shows them: `600 MB` (MiB, as `max_memory`'s `M` counts). */
export function megabytes(bytes: number): string {
  const mb = bytes / 1024 ** 2;
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}
