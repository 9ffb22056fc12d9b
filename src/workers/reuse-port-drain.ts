/**
 * @module
 * Reuse-port mode's graceful stop without losing a keep-alive client's next request: what the
 * engine does in `src/http/drain.ts`, under Bun.serve.
 *
 * Bun.serve's `stop()` closes idle keep-alive connections at once (measured on 1.4.4: within
 * 2 ms), and a busy keep-alive client loses the request it sends at that moment; Bun.serve can
 * neither stop accepting without stopping, nor close one connection, nor count them. So:
 *
 * 1. {@link closeReusePortListeners}: the worker process closes its reuse-port listening
 *    sockets itself, by `dup2`-ing a fresh, unbound socket over each fd. The kernel drops the
 *    listener from the SO_REUSEPORT group (with `net.ipv4.tcp_migrate_req=1` the connections
 *    queued on it move to another worker's socket; with 0 they are reset, as on any close), and
 *    the listener's registration in Bun's event loop goes with it (epoll forgets a file once its
 *    last fd is closed), while every accepted connection stays open. Bun later closes the
 *    placeholder when it stops the server. Done once per process, from its main thread, before
 *    any server stops (gthread threads' listeners included), so no fd is reused in between.
 * 2. {@link drainBunServer}: the server keeps running; the fetch wrapper answers every request
 *    with `Connection: close` (`reuse-port-fetch.ts`, the worker no longer `alive`), so each
 *    busy connection closes after its next answer. Once no request has come for the drain's
 *    grace (`DRAIN_IDLE_GRACE_MS`, as in the engine, checked every `DRAIN_TICK_MS`), or after
 *    {@link DRAIN_MAX_MS}, `server.stop(false)` closes what is left idle and waits for requests
 *    in progress (the arbiter's `graceful_timeout` bounds them).
 *
 * Bun.serve gives no per-connection idle time, so the grace counts from the worker's last
 * request, not each connection's: a connection silent while others are busy is kept longer
 * than in the engine, never shorter.
 */
import { readdirSync, readlinkSync } from "node:fs";
import type { Server } from "bun";
import { DRAIN_IDLE_GRACE_MS, DRAIN_TICK_MS } from "../http/drain.ts";
import type { ListenerSpec } from "./protocol.ts";

/** The longest a reuse-port worker waits for its connections to fall silent before stopping Bun.serve, in ms. */
export const DRAIN_MAX_MS = 5000;

type Libc = NonNullable<ReturnType<typeof import("../os/libc.ts").libc>>;
type Consts = typeof import("../os/libc.ts").C;

/** libc through bun:ffi, loaded only now: it costs every worker ~3.5 MB RSS, and this one is stopping. */
function loadLibc(): { lib: Libc; C: Consts } | null {
  if (process.platform !== "linux") return null;
  const { C, libc } = require("../os/libc.ts") as typeof import("../os/libc.ts");
  const lib = libc();
  return lib === null ? null : { lib, C };
}

/** The TCP ports of the reuse-port listeners. */
function portsOf(listeners: readonly ListenerSpec[]): Set<number> {
  const ports = new Set<number>();
  for (const l of listeners) if (l.mode === "reuse-port") ports.add(l.port);
  return ports;
}

/**
 * This process's TCP sockets whose local port is one of `ports`: its listeners on them
 * (`SO_ACCEPTCONN`) and the connections they accepted. Read from `/proc/self/fd`; a socket
 * closed meanwhile is skipped.
 */
function socketsOn(ports: Set<number>, { lib, C }: { lib: Libc; C: Consts }): { fd: number; listening: boolean }[] {
  const out: { fd: number; listening: boolean }[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    return out;
  }
  const addr = new Uint8Array(128);
  const len = new Uint32Array(1);
  const opt = new Int32Array(1);
  const optLen = new Uint32Array(1);
  for (const name of names) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    if (!link.startsWith("socket:")) continue;
    const fd = Number(name);
    len[0] = addr.length;
    if (lib.getsockname(fd, addr, len) < 0) continue;
    const family = (addr[0] ?? 0) | ((addr[1] ?? 0) << 8);
    if (family !== C.AF_INET && family !== C.AF_INET6) continue;
    if (!ports.has(((addr[2] ?? 0) << 8) | (addr[3] ?? 0))) continue;
    optLen[0] = 4;
    if (lib.getsockopt(fd, C.SOL_SOCKET, C.SO_TYPE, opt, optLen) < 0 || opt[0] !== C.SOCK_STREAM) continue;
    optLen[0] = 4;
    const listening = lib.getsockopt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN, opt, optLen) === 0 && opt[0] === 1;
    out.push({ fd, listening });
  }
  return out;
}

/**
 * Closes this process's listening sockets on the reuse-port listeners' ports, leaving their
 * connections open (see the module comment). Linux only (`/proc/self/fd`, `bun:ffi`); elsewhere,
 * or if libc cannot be loaded, nothing is closed and Bun.serve's own stop closes the listener.
 *
 * @returns how many listening sockets were closed.
 */
export function closeReusePortListeners(listeners: readonly ListenerSpec[]): number {
  const ports = portsOf(listeners);
  const libc = ports.size === 0 ? null : loadLibc();
  if (libc === null) return 0;
  const { lib, C } = libc;
  let closed = 0;
  for (const s of socketsOn(ports, libc)) {
    if (!s.listening) continue;
    const placeholder = lib.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0);
    if (placeholder < 0) break;
    if (lib.dup2(placeholder, s.fd) >= 0) closed++;
    lib.close(placeholder);
  }
  return closed;
}

/**
 * Drains a Bun.serve server whose listener is closed: waits until this process has no
 * connection left on the listener's port, or no request has started for the drain's grace
 * (`started()`: the number of requests started so far), at most {@link DRAIN_MAX_MS}, or
 * `ended()` says nothing takes over (stop-hint.ts); then stops it gracefully (idle connections
 * closed, requests in progress finished).
 */
export async function drainBunServer(server: Server<unknown>, listener: ListenerSpec, started: () => number, ended: () => boolean): Promise<void> {
  const ports = portsOf([listener]);
  const libc = ports.size === 0 ? null : loadLibc();
  const connections = () => (libc === null ? -1 : socketsOn(ports, libc).filter((s) => !s.listening).length);
  const end = performance.now() + DRAIN_MAX_MS;
  let seen = started();
  let quietSince = performance.now();
  while (!ended() && connections() !== 0) {
    await Bun.sleep(DRAIN_TICK_MS);
    const now = performance.now();
    const n = started();
    if (n !== seen) {
      seen = n;
      quietSince = now;
    }
    if (now - quietSince >= DRAIN_IDLE_GRACE_MS || now >= end || ended()) break;
  }
  await server.stop(false);
}
