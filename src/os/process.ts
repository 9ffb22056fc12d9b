/**
 * Process-level helpers for the arbiter and its workers: names in `ps`, dying with the
 * parent, privilege drop, user/group lookup, and reaping orphans when running as PID 1.
 *
 * Linux-specific pieces fail soft elsewhere (they return `null` / `false` and do nothing),
 * except `dropPrivileges`, `resolveUser` and `resolveGroup`, which use portable
 * `process.*` calls and `/etc/passwd`/`/etc/group`.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { C, check, errno, ffi, libc, SyscallError } from "./libc.ts";

const signals = osConstants.signals as Record<string, number>;

/** `"SIGTERM"` or `15` → `15`. Throws on unknown names. */
export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === "number") {
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) throw new RangeError(`invalid signal number ${signal}`);
    return signal;
  }
  const n = signals[signal];
  if (n === undefined) throw new RangeError(`unknown signal ${JSON.stringify(signal)}`);
  return n;
}

/** Linux limits `comm` to 15 bytes (16 with the NUL). */
export const COMM_MAX_BYTES = 15;

function truncateUtf8(text: string, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return bytes;
  let end = max;
  // do not cut a multi-byte character in half
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * Set the process name shown by `ps -o comm`, `top` and `/proc/<pid>/comm`
 * (`process.title` does not change it in Bun). Truncated to 15 bytes.
 *
 * Writes `/proc/self/comm` (names the main thread, whichever thread calls), falling back to
 * `prctl(PR_SET_NAME)` (names the calling thread).
 *
 * @returns the name actually set, or `null` when neither way is available (non-Linux).
 * @example
 * ```ts
 * setProcessComm("bunicorn: worker 1"); // → "bunicorn: worke"
 * ```
 */
export function setProcessComm(name: string): string | null {
  const bytes = truncateUtf8(name.replace(/[\0\n]/g, " "), COMM_MAX_BYTES);
  const text = new TextDecoder().decode(bytes);
  if (process.platform !== "linux") return null;
  try {
    writeFileSync("/proc/self/comm", bytes);
    return text;
  } catch {
    const lib = libc();
    if (lib === null) return null;
    const buf = new Uint8Array(16);
    buf.set(bytes);
    return lib.prctl(C.PR_SET_NAME, ffi().ptr(buf), 0, 0, 0) === 0 ? text : null;
  }
}

/**
 * Ask the kernel to send `signal` to this process when its parent dies
 * (`prctl(PR_SET_PDEATHSIG)`), so a worker never outlives a SIGKILLed arbiter.
 *
 * Caveats (Linux semantics):
 * - "Parent" is the thread that spawned us; Bun.spawn runs on the JS thread, so that is fine.
 * - The setting is cleared when this process changes uid/gid; {@link dropPrivileges} re-arms it.
 * - If the parent already died before this call, no signal comes: pass `expectedParentPid`
 *   (the arbiter's pid) and the call sends `signal` to itself right away when `process.ppid`
 *   no longer matches.
 *
 * @returns `true` when armed, `false` on non-Linux platforms.
 * @throws `SyscallError` if prctl fails.
 */
export function setParentDeathSignal(signal: NodeJS.Signals | number = "SIGTERM", expectedParentPid?: number): boolean {
  const lib = libc();
  if (lib === null) return false;
  const sig = signalNumber(signal);
  check(lib.prctl(C.PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)");
  if (expectedParentPid !== undefined && sig !== 0 && process.ppid !== expectedParentPid) {
    process.kill(process.pid, sig);
  }
  return true;
}

/** The signal armed by {@link setParentDeathSignal} (0 = none), or `null` on non-Linux. */
export function getParentDeathSignal(): number | null {
  const lib = libc();
  if (lib === null) return null;
  const out = new Int32Array(1);
  if (lib.prctl(C.PR_GET_PDEATHSIG, ffi().ptr(out), 0, 0, 0) < 0) return null;
  return out[0] ?? null;
}

/**
 * Make this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`): orphaned
 * descendants are re-parented to it instead of to PID 1, so it must reap them
 * (see {@link OrphanReaper}).
 *
 * @returns `true` when set, `false` on non-Linux platforms.
 */
export function setChildSubreaper(on: boolean = true): boolean {
  const lib = libc();
  if (lib === null) return false;
  check(lib.prctl(C.PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)");
  return true;
}

/**
 * `net.ipv4.tcp_migrate_req`: with 1, the kernel moves connections queued on a closing
 * SO_REUSEPORT socket to another socket of the group instead of resetting them.
 *
 * @returns the value (0 or 1), or `null` when the sysctl does not exist (non-Linux, kernel < 5.14).
 */
export function tcpMigrateReq(): number | null {
  try {
    const text = readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** `true` when this process is PID 1 (a container's init): it must reap orphans. */
export function isPid1(): boolean {
  return process.pid === 1;
}

/** A user from `/etc/passwd` (or a bare numeric uid). */
export type ResolvedUser = {
  uid: number;
  /** Primary group from `/etc/passwd`; for a numeric uid without an entry, the current gid. */
  gid: number;
  /** Login name; for a numeric uid without an entry, the number as a string. */
  name: string;
  /** `false` for a numeric uid that has no `/etc/passwd` entry. */
  known: boolean;
};

function readDb(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const rows: string[][] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    rows.push(line.split(":"));
  }
  return rows;
}

const ID_RE = /^\d+$/;

/**
 * Look up a user by name or numeric id in `/etc/passwd` (Gunicorn `--user`).
 * Numeric ids that have no entry pass through (`known: false`). NSS sources other than
 * `/etc/passwd` (LDAP, sssd) are not consulted.
 *
 * @param passwdPath alternative file, for tests.
 * @throws `Error("unknown user \"nobodyx\" (not in /etc/passwd)")`.
 * @example
 * ```ts
 * resolveUser("root") // {uid: 0, gid: 0, name: "root", known: true}
 * ```
 */
export function resolveUser(nameOrId: string | number, passwdPath: string = "/etc/passwd"): ResolvedUser {
  const key = String(nameOrId).trim();
  if (key === "") throw new Error("empty user name");
  const rows = readDb(passwdPath);
  const numeric = ID_RE.test(key);
  for (const r of rows) {
    if (r.length < 4) continue;
    const [name, , uid, gid] = r;
    if (numeric ? uid === key : name === key) {
      if (!ID_RE.test(uid ?? "") || !ID_RE.test(gid ?? "")) continue;
      return { uid: Number(uid), gid: Number(gid), name: name ?? key, known: true };
    }
  }
  if (numeric) {
    const uid = Number(key);
    if (uid > 0xfffffffe) throw new RangeError(`uid ${key} is out of range`);
    return { uid, gid: process.getgid?.() ?? 0, name: key, known: false };
  }
  throw new Error(`unknown user ${JSON.stringify(key)} (not in ${passwdPath})`);
}

/**
 * Look up a group by name or numeric id in `/etc/group` (Gunicorn `--group`).
 * Numeric ids pass through even without an entry.
 *
 * @throws `Error("unknown group \"x\" (not in /etc/group)")`.
 */
export function resolveGroup(nameOrId: string | number, groupPath: string = "/etc/group"): number {
  const key = String(nameOrId).trim();
  if (key === "") throw new Error("empty group name");
  if (ID_RE.test(key)) {
    const gid = Number(key);
    if (gid > 0xfffffffe) throw new RangeError(`gid ${key} is out of range`);
    return gid;
  }
  for (const r of readDb(groupPath)) {
    if (r[0] === key && ID_RE.test(r[2] ?? "")) return Number(r[2]);
  }
  throw new Error(`unknown group ${JSON.stringify(key)} (not in ${groupPath})`);
}

/** Options for {@link dropPrivileges}. */
export type DropPrivilegesOptions = {
  uid: number;
  gid: number;
  /**
   * Gunicorn `--initgroups`: set the supplementary groups to every group the user is a
   * member of (needs the user's name from `/etc/passwd`). Otherwise, when the gid changes,
   * the supplementary groups are reduced to `[gid]` so root's groups are not kept.
   */
  initgroups?: boolean;
};

/**
 * Switch this process to another user and group, the Gunicorn way
 * (`util.set_owner_process`): supplementary groups, then `setgid`, then `setuid`.
 * Call it in the worker after it has its sockets. A uid/gid of 0 or equal to the current
 * one is left alone. Re-arms the parent-death signal, which the kernel clears on a
 * credential change.
 *
 * @throws the `EPERM` error from `process.setuid`/`setgid` when not allowed.
 */
export function dropPrivileges(options: DropPrivilegesOptions): void {
  const { uid, gid } = options;
  const pdeath = getParentDeathSignal();
  if (typeof process.setgid !== "function" || typeof process.setuid !== "function") {
    throw new Error(`dropPrivileges: not supported on ${process.platform}`);
  }
  if (gid) {
    let initgroups = options.initgroups === true;
    let userName: string | undefined;
    if (initgroups) {
      try {
        const u = resolveUser(uid);
        if (u.known) userName = u.name;
        else initgroups = false;
      } catch {
        initgroups = false;
      }
    }
    // `process.initgroups` exists in Bun but is missing from its type declarations.
    const initgroupsFn = (process as { initgroups?: (user: string, extraGroup: number) => void }).initgroups;
    if (initgroups && userName !== undefined && typeof initgroupsFn === "function") {
      initgroupsFn.call(process, userName, gid);
    } else if (gid !== process.getgid?.() && typeof process.setgroups === "function") {
      process.setgroups([gid]);
    }
    process.setgid(gid);
  }
  if (uid && uid !== process.getuid?.()) process.setuid(uid);
  if (pdeath !== null && pdeath !== 0 && getParentDeathSignal() === 0) setParentDeathSignal(pdeath);
}

/** A child reaped by {@link OrphanReaper}. */
export type ReapedChild = {
  pid: number;
  /** Exit code when it exited normally, else `null`. */
  exitCode: number | null;
  /** Number of the signal that killed it, else `null`. */
  signal: number | null;
};

/** Pids of this process's children that are zombies right now (Linux `/proc`). */
export function zombieChildren(): number[] {
  if (process.platform !== "linux") return [];
  const self = process.pid;
  let candidates: number[] = [];
  try {
    // CONFIG_PROC_CHILDREN: each thread lists its own children; orphans adopted by a
    // (sub)reaper may be listed under any of our threads.
    for (const tid of readdirSync("/proc/self/task")) {
      const text = readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim();
      if (text !== "") for (const p of text.split(/\s+/)) candidates.push(Number(p));
    }
  } catch {
    candidates = [];
    for (const entry of readdirSync("/proc")) if (ID_RE.test(entry)) candidates.push(Number(entry));
  }
  const zombies: number[] = [];
  for (const pid of candidates) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone already
    }
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    if (fields[0] === "Z" && Number(fields[1]) === self) zombies.push(pid);
  }
  return zombies;
}

function decodeStatus(pid: number, status: number): ReapedChild {
  const sig = status & 0x7f;
  if (sig === 0) return { pid, exitCode: (status >> 8) & 0xff, signal: null };
  return { pid, exitCode: null, signal: sig };
}

/** Options for {@link OrphanReaper}. */
export type OrphanReaperOptions = {
  /**
   * Pids that belong to someone else and must never be reaped here: every child started
   * with `Bun.spawn` (Bun waits for each of its children with `wait4(pid)` after a pidfd
   * says it exited; if we took the status first, Bun would crash with ECHILD).
   */
  isKnown: (pid: number) => boolean;
  /**
   * Reap an unknown zombie only once it has been seen as a zombie at least this long ago,
   * by an earlier {@link OrphanReaper.reap} call. This protects children that other code
   * spawned through Bun (hooks, `child_process`) that Bun has not collected yet: Bun does
   * that on its next event-loop turn. Default 1000 ms; 0 reaps unknown zombies at once.
   */
  graceMs?: number;
};

/**
 * Reaps orphaned descendants that were re-parented to this process, which happens when
 * it is PID 1 (in a container) or a child subreaper, without stealing the exit status of
 * children Bun is waiting for.
 *
 * Why not `waitpid(-1, WNOHANG)` in a loop: Bun reaps its own children with
 * `wait4(<pid>, WNOHANG)` once the child's pidfd is readable (strace, Bun 1.4.4). When a
 * `waitpid(-1)` takes such a status first, Bun's own `wait4` gets ECHILD and Bun throws an
 * uncaught `ECHILD: unknown error, waitpid`, which kills the process (measured; see
 * test/os/fixtures/naive-steal.ts). `waitid(P_ALL, ..., WNOWAIT)` only ever shows the first
 * waitable child, so it cannot skip a known one either.
 * So this lists our zombie children from `/proc`, skips known pids, and reaps each remaining
 * one by pid with `wait4(pid, WNOHANG)`.
 *
 * Call {@link OrphanReaper.reap} from a `process.on("SIGCHLD")` handler and from a periodic
 * timer (signals coalesce, and `graceMs` needs a later call).
 *
 * @example
 * ```ts
 * const reaper = new OrphanReaper({ isKnown: (pid) => workers.has(pid) });
 * process.on("SIGCHLD", () => reaper.reap());
 * setInterval(() => reaper.reap(), 1000).unref();
 * ```
 */
export class OrphanReaper {
  private readonly isKnown: (pid: number) => boolean;
  private readonly graceMs: number;
  private readonly firstSeen = new Map<number, number>();

  constructor(options: OrphanReaperOptions) {
    this.isKnown = options.isKnown;
    this.graceMs = options.graceMs ?? 1000;
  }

  /**
   * Reap the orphaned zombies that are due.
   * @returns what was reaped (empty on non-Linux).
   */
  reap(): ReapedChild[] {
    const lib = libc();
    if (lib === null) return [];
    const now = performance.now();
    const zombies = zombieChildren();
    const present = new Set(zombies);
    for (const pid of this.firstSeen.keys()) if (!present.has(pid)) this.firstSeen.delete(pid);
    const reaped: ReapedChild[] = [];
    for (const pid of zombies) {
      if (this.isKnown(pid)) continue;
      const first = this.firstSeen.get(pid);
      if (first === undefined) this.firstSeen.set(pid, now);
      if (this.graceMs > 0 && (first === undefined || now - first < this.graceMs)) continue;
      const status = new Int32Array(1);
      const r = lib.wait4(pid, status, C.WNOHANG, null);
      if (r === pid) {
        this.firstSeen.delete(pid);
        reaped.push(decodeStatus(pid, status[0] ?? 0));
      } else if (r < 0) {
        const e = errno();
        this.firstSeen.delete(pid);
        if (new SyscallError("wait4", e).code !== "ECHILD") throw new SyscallError("wait4", e, `pid ${pid}`);
      }
    }
    return reaped;
  }
}
