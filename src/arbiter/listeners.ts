/**
 * @module
 * Decides how each `bind` is served and prepares it (see docs/design.md, "Listening"):
 *
 * - reuse-port mode (TCP): every worker binds its own `SO_REUSEPORT` socket with Bun.serve. The
 *   arbiter only test-binds once at start (without SO_REUSEPORT), so "address in use" fails fast
 *   with no worker spawned, even when the holder is another bunicorn.
 * - shared-socket mode: the arbiter opens the socket (bun:ffi, never polled by the arbiter) or
 *   adopts an inherited one (`fd://N`, systemd `LISTEN_FDS`, `BUNICORN_FD` after USR2) and
 *   hands it to every worker at spawn; workers serve it with bunicorn's HTTP engine.
 */
import type { Settings } from "../config/registry.ts";
import { ConfigError } from "../errors.ts";
import { DEFAULT_LIMIT_REQUEST_FIELD_SIZE, DEFAULT_LIMIT_REQUEST_FIELDS, DEFAULT_LIMIT_REQUEST_LINE } from "../http/limits.ts";
import { describeBind, formatBind, parseBind, resolveBind, type BindAddress } from "../net/bind-address.ts";
import { unlinkSync } from "node:fs";
import type { ListenerSpec, ListenMode } from "../workers/protocol.ts";
import { tlsEnabled } from "../workers/tls-options.ts";

/** The raw-socket code, loaded on first use: an arbiter in reuse-port mode with no inherited sockets never needs it. */
function sockets(): typeof import("../net/listen-socket.ts") {
  return require("../net/listen-socket.ts");
}

export interface Listener {
  /** What the arbiter logs: `http://127.0.0.1:8000` (`https://` with TLS), `unix:/tmp/x.sock`. */
  display: string;
  mode: ListenMode;
  /** The arbiter's fd of a shared socket. */
  fd: number | null;
  address: BindAddress;
  /** True when the arbiter created a unix socket file (it removes it at exit). */
  ownsPath: boolean;
}

/** Settings that only bunicorn's own HTTP engine can honour. */
function needsSharedSocket(cfg: Settings): string | null {
  if (cfg.proxy_protocol) return "proxy_protocol";
  if (cfg.limit_request_line !== DEFAULT_LIMIT_REQUEST_LINE) return "limit_request_line";
  if (cfg.limit_request_fields !== DEFAULT_LIMIT_REQUEST_FIELDS) return "limit_request_fields";
  if (cfg.limit_request_field_size !== DEFAULT_LIMIT_REQUEST_FIELD_SIZE) return "limit_request_field_size";
  if (cfg.permit_obsolete_folding) return "permit_obsolete_folding";
  if (cfg.strip_header_spaces) return "strip_header_spaces";
  if (cfg.permit_unconventional_http_method) return "permit_unconventional_http_method";
  if (cfg.permit_unconventional_http_version) return "permit_unconventional_http_version";
  if (cfg.casefold_http_method) return "casefold_http_method";
  return null;
}

/** Opens (or adopts) every listener. `inherited` fds come from USR2 or systemd. */
export async function openListeners(cfg: Settings, inherited: number[], probe = true, existing: readonly Listener[] = []): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    if (inherited.length > 0) {
      for (const fd of inherited) {
        const { adoptListenSocket, socketInfoToBind } = sockets();
        const info = adoptListenSocket(fd);
        const address = socketInfoToBind(info);
        listeners.push({ display: formatBind(address, scheme(cfg)), mode: "shared-socket", fd, address, ownsPath: false });
      }
      return listeners;
    }
    const forced = needsSharedSocket(cfg);
    if (cfg.reuse_port === true && forced) {
      throw new ConfigError(`reuse_port: reuse-port mode (Bun.serve) cannot honour ${forced}; drop --reuse-port or that setting`);
    }
    for (const spec of cfg.bind) {
      let address: BindAddress;
      try {
        address = await resolveBind(parseBind(spec));
      } catch (e) {
        throw new ConfigError(`bind: ${e instanceof Error ? e.message : String(e)}`);
      }
      const same = existing.find((l) => formatBind(l.address) === formatBind(address));
      if (same) {
        listeners.push(same);
        continue;
      }
      try {
        listeners.push(openOne(address, cfg, forced === null, probe));
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "EADDRINUSE") throw new ConfigError(`Connection in use: ${describeBind(address)}`);
        throw new ConfigError(`Can't connect to ${describeBind(address)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return listeners;
  } catch (e) {
    closeListeners(listeners.filter((l) => !existing.includes(l)), true);
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
}

function openOne(address: BindAddress, cfg: Settings, reusePortAllowed: boolean, probe: boolean): Listener {
  if (address.kind === "fd") {
    const { adoptListenSocket, socketInfoToBind } = sockets();
    const bound = socketInfoToBind(adoptListenSocket(address.fd));
    return { display: formatBind(bound, scheme(cfg)), mode: "shared-socket", fd: address.fd, address: bound, ownsPath: false };
  }
  if (address.kind === "tcp" && cfg.reuse_port !== false && reusePortAllowed) {
    // Fail fast on a port anything listens on (another bunicorn too); the workers bind for real.
    if (probe) probeFree(address);
    return { display: formatBind(address, scheme(cfg)), mode: "reuse-port", fd: null, address, ownsPath: false };
  }
  const fd = sockets().openListenSocket(address, { backlog: cfg.backlog, umask: cfg.umask, owner: socketOwner(address, cfg) });
  return { display: formatBind(address, scheme(cfg)), mode: "shared-socket", fd, address, ownsPath: address.kind === "unix" };
}

/**
 * A unix socket's owner: the workers' `user` and `group` when either is set, as Gunicorn chowns
 * its unix socket to them (so workers that dropped privileges can still reach their socket's
 * file, and the group can be the proxy's); otherwise left as created.
 */
function socketOwner(address: BindAddress, cfg: Settings): { uid: number; gid: number } | undefined {
  if (address.kind !== "unix" || (cfg.user === null && cfg.group === null)) return undefined;
  const { resolveGroup, resolveUser } = require("../os/index.ts") as typeof import("../os/index.ts");
  const user = cfg.user !== null ? resolveUser(cfg.user) : null;
  const gid = cfg.group !== null ? resolveGroup(cfg.group) : (user?.gid ?? process.getgid!());
  return { uid: user?.uid ?? process.getuid!(), gid };
}

/** The scheme "Listening at" shows: `https` when the SSL settings are set. */
function scheme(cfg: Settings): "http" | "https" {
  return tlsEnabled(cfg) ? "https" : "http";
}

/**
 * The listening modes the binds will get, known before any socket is opened, for start-up
 * checks of settings only some modes can honour (`inherited`: sockets come from a USR2 parent or
 * systemd, which are always shared). Follows {@link openListeners} and `openOne`.
 */
export function plannedModes(cfg: Settings, inherited: boolean): Set<ListenMode> {
  if (inherited) return new Set(["shared-socket"]);
  const reusePortAllowed = needsSharedSocket(cfg) === null;
  const modes = new Set<ListenMode>();
  for (const spec of cfg.bind) {
    let kind: BindAddress["kind"];
    try {
      kind = parseBind(spec).kind;
    } catch {
      continue; // openListeners reports it
    }
    modes.add(kind === "tcp" && cfg.reuse_port !== false && reusePortAllowed ? "reuse-port" : "shared-socket");
  }
  return modes;
}

/**
 * Binds `address` WITHOUT SO_REUSEPORT and closes it at once: that fails with EADDRINUSE while
 * any socket listens there, including another bunicorn's reuse-port workers (which a
 * SO_REUSEPORT probe would join, so two instances would split the traffic). Gunicorn's
 * "Connection in use". `Bun.listen` does it without loading `bun:ffi` (about 2 MB of RSS the
 * arbiter would keep); when it fails for any reason but EADDRINUSE, the raw socket is tried,
 * which names the failing call and errno exactly.
 */
function probeFree(address: BindAddress & { kind: "tcp" }): void {
  try {
    Bun.listen({ hostname: address.host, port: address.port, socket: { data() {} } }).stop(true);
    return;
  } catch (e) {
    if ((e as { code?: string }).code === "EADDRINUSE") throw e;
  }
  const { closeFd, openListenSocket } = sockets();
  closeFd(openListenSocket(address, { reusePort: false, backlog: 1 }));
}

/** Closes the arbiter's sockets; removes unix socket files it created when `unlink`. */
export function closeListeners(listeners: readonly Listener[], unlink: boolean): void {
  for (const l of listeners) {
    if (l.fd !== null) {
      try {
        sockets().closeFd(l.fd);
      } catch {}
    }
    if (unlink && l.ownsPath && l.address.kind === "unix") {
      try {
        unlinkSync(l.address.path);
      } catch {}
    }
  }
}

/** The worker-side description of each listener; shared fds land at 3, 4, ... in the worker. */
export function workerListenerSpecs(listeners: readonly Listener[]): { specs: ListenerSpec[]; fds: number[] } {
  const specs: ListenerSpec[] = [];
  const fds: number[] = [];
  for (const l of listeners) {
    if (l.mode === "reuse-port" && l.address.kind === "tcp") {
      specs.push({ mode: "reuse-port", host: l.address.host, port: l.address.port, display: l.display });
    } else if (l.fd !== null) {
      specs.push({ mode: "shared-socket", fd: 3 + fds.length, display: l.display, unix: l.address.kind === "unix" });
      fds.push(l.fd);
    }
  }
  return { specs, fds };
}
