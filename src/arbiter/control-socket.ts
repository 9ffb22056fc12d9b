/**
 * @module
 * The control socket (`control_socket`), served by the arbiter with `Bun.listen({unix})`.
 *
 * - Created with `control_socket_mode` (0600 by default): the umask is set for the bind, so the
 *   file is never wider, not even for an instant. A stale socket file (nothing answers on it) is
 *   removed first; a path a live server answers on, or a path that is not a socket, is refused.
 * - Removed at exit, only while it is still the file this arbiter created (same inode).
 * - After USR2 the new arbiter finds the path held by the old one and waits: it takes the path
 *   over once nothing answers there any more (the old arbiter has exited), checking twice a second.
 * - Each connection: one request line (at most `MAX_REQUEST_BYTES`, within `REQUEST_TIMEOUT_MS`),
 *   one reply line, then the arbiter closes. At most `MAX_CONNECTIONS` at once.
 */
import { chmodSync, lstatSync, statSync, unlinkSync } from "node:fs";
import type { Socket, UnixSocketListener } from "bun";
import { ConfigError } from "../errors.ts";
import type { LogMethods } from "../hook-types.ts";
import { CommandError, runCommand, type ControlTarget } from "./control-commands.ts";
import { unixPathAnswers } from "../net/unix-path-live.ts";
import {
  COMMAND_TIMEOUT_MS,
  commandWords,
  MAX_CONNECTIONS,
  MAX_REQUEST_BYTES,
  parseCommand,
  REQUEST_TIMEOUT_MS,
  type ControlReply,
} from "./control-protocol.ts";

/** What the control socket reads of the settings. */
export interface ControlSettings {
  control_socket: string | null;
  control_socket_mode: number;
}

interface Conn {
  /** Request bytes so far (until the newline). */
  chunks: Uint8Array[];
  size: number;
  /** Set once the request line is complete (later bytes are ignored). */
  answered: boolean;
  /** Set once the reply is queued (one reply per connection). */
  replied: boolean;
  /** Reply bytes not yet taken by the socket. */
  pending: Uint8Array | null;
  timer: ReturnType<typeof setTimeout> | null;
}

const encoder = new TextEncoder();

/** Checks `path` for binding: throws when it is taken; removes a stale socket file. */
async function clearPath(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new ConfigError(`control_socket: ${path} exists and is not a socket`);
  if (await unixPathAnswers(path)) throw new ConfigError(`control_socket: ${path} is in use (a running server answers on it)`);
  try {
    unlinkSync(path);
  } catch (e) {
    throw new ConfigError(`control_socket: cannot remove the stale socket ${path}: ${(e as Error).message}`);
  }
}

export class ControlSocket {
  private listener: UnixSocketListener<undefined> | null = null;
  private path: string | null = null;
  private mode = 0o600;
  /** The inode of the file this arbiter created (removed at exit only while it is still that file). */
  private inode: number | null = null;
  private target: ControlTarget | null = null;
  private log: LogMethods | null = null;
  private readonly conns = new Map<Socket<undefined>, Conn>();
  /** After USR2: polls until the old arbiter lets go of the path. */
  private waitTimer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  /**
   * Opens the socket at start. `waitForParent`: this arbiter was started by USR2 from that pid; if
   * the path is live, wait for it instead of failing. Throws a ConfigError for the one `Error:` line.
   */
  async open(cfg: ControlSettings, waitForParent: number | null): Promise<void> {
    if (!cfg.control_socket) return;
    if (waitForParent !== null && (await unixPathAnswers(cfg.control_socket))) {
      this.path = cfg.control_socket;
      this.mode = cfg.control_socket_mode;
      this.waitTimer = setInterval(() => void this.takeOver(), 500);
      this.waitTimer.unref?.();
      return;
    }
    await clearPath(cfg.control_socket);
    this.bind(cfg.control_socket, cfg.control_socket_mode);
  }

  /** Starts answering commands (the arbiter is ready), logging through `log`. */
  serve(target: ControlTarget, log: LogMethods): void {
    this.target = target;
    this.log = log;
    if (this.listener !== null) log.info("Control socket at: %s", this.path);
    else if (this.waitTimer !== null) log.info("Control socket %s is held by the old arbiter; taking it over when it exits", this.path);
  }

  /** A new logger after HUP. */
  setLog(log: LogMethods): void {
    this.log = log;
  }

  /** HUP: applies a changed path or mode. A path that cannot be taken is logged and the old socket kept. */
  async reconfigure(cfg: ControlSettings): Promise<void> {
    const path = cfg.control_socket;
    if (path === this.path) {
      if (path !== null && cfg.control_socket_mode !== this.mode) {
        this.mode = cfg.control_socket_mode;
        if (this.listener !== null) {
          try {
            chmodSync(path, this.mode);
          } catch (e) {
            this.log?.error("control_socket_mode: cannot chmod %s: %s", path, (e as Error).message);
          }
        }
      }
      return;
    }
    if (path !== null) {
      try {
        await clearPath(path);
      } catch (e) {
        this.log?.error("Reload: keeping the control socket at %s: %s", this.path ?? "(none)", (e as Error).message);
        return;
      }
    }
    // Requests already read (this reload's own, say) are still answered on their connections.
    this.release(false);
    if (path === null) {
      this.log?.info("Control socket closed");
      return;
    }
    try {
      this.bind(path, cfg.control_socket_mode);
      this.log?.info("Control socket at: %s", path);
    } catch (e) {
      this.log?.error("Reload: cannot open the control socket at %s: %s", path, (e as Error).message);
    }
  }

  /** At exit: answers what is still waiting, closes the socket and removes its file. */
  close(): void {
    this.closed = true;
    this.release(true);
  }

  /** Stops listening and removes the file; `exiting`: also answers every connection still waiting. */
  private release(exiting: boolean): void {
    if (this.waitTimer !== null) clearInterval(this.waitTimer);
    this.waitTimer = null;
    if (exiting) {
      for (const [s, c] of this.conns) {
        if (!c.replied) this.reply(s, c, { ok: false, error: "the arbiter is shutting down" });
      }
    }
    this.listener?.stop(false);
    this.listener = null;
    if (this.path !== null && this.inode !== null) {
      try {
        // Only our own file: after a USR2 hand-over the path may be the new arbiter's.
        if (statSync(this.path).ino === this.inode) unlinkSync(this.path);
      } catch {}
    }
    this.path = null;
    this.inode = null;
  }

  private async takeOver(): Promise<void> {
    const path = this.path;
    if (path === null || this.listener !== null || this.closed) return;
    if (await unixPathAnswers(path)) return;
    if (this.waitTimer === null || this.listener !== null) return; // closed or taken meanwhile
    clearInterval(this.waitTimer);
    this.waitTimer = null;
    try {
      await clearPath(path);
      this.bind(path, this.mode);
      this.log?.info("Control socket at: %s (taken over from the old arbiter)", path);
    } catch (e) {
      this.log?.error("Cannot take over the control socket at %s: %s", path, (e as Error).message);
    }
  }

  private bind(path: string, mode: number): void {
    // Sockets are created 0777 & ~umask: with this umask the file never has more than `mode`.
    const old = process.umask(0o777 & ~mode);
    try {
      this.listener = Bun.listen<undefined>({
        unix: path,
        socket: {
          open: (s) => this.onOpen(s),
          data: (s, chunk) => this.onData(s, chunk),
          drain: (s) => this.onDrain(s),
          close: (s) => this.onClose(s),
          error: (s) => this.onClose(s),
        },
      });
    } catch (e) {
      throw new ConfigError(`control_socket: cannot listen on ${path}: ${(e as Error).message}`);
    } finally {
      process.umask(old);
    }
    chmodSync(path, mode);
    this.path = path;
    this.mode = mode;
    this.inode = statSync(path).ino;
  }

  private onOpen(s: Socket<undefined>): void {
    if (this.conns.size >= MAX_CONNECTIONS) {
      s.terminate();
      return;
    }
    const c: Conn = { chunks: [], size: 0, answered: false, replied: false, pending: null, timer: null };
    c.timer = setTimeout(() => {
      if (!c.answered) this.reply(s, c, { ok: false, error: `no request line within ${REQUEST_TIMEOUT_MS / 1000} s` });
    }, REQUEST_TIMEOUT_MS);
    this.conns.set(s, c);
  }

  private onData(s: Socket<undefined>, chunk: Uint8Array): void {
    const c = this.conns.get(s);
    if (c === undefined || c.answered) return;
    const nl = chunk.indexOf(10);
    const part = nl === -1 ? chunk : chunk.subarray(0, nl);
    c.size += part.length;
    if (c.size > MAX_REQUEST_BYTES) {
      this.reply(s, c, { ok: false, error: `request line longer than ${MAX_REQUEST_BYTES} bytes` });
      return;
    }
    c.chunks.push(part.slice());
    if (nl === -1) return;
    c.answered = true;
    const line = Buffer.concat(c.chunks).toString("utf8");
    c.chunks = [];
    void this.handle(line).then((r) => this.reply(s, c, r));
  }

  private async handle(line: string): Promise<ControlReply> {
    if (this.target === null) return { ok: false, error: "the arbiter is starting" };
    let cmd;
    try {
      const req: unknown = JSON.parse(line);
      if (typeof req !== "object" || req === null || Array.isArray(req)) throw new Error('the request must be a JSON object with "command"');
      cmd = parseCommand(commandWords((req as { command?: unknown }).command));
    } catch (e) {
      return { ok: false, error: e instanceof SyntaxError ? `the request is not JSON: ${e.message}` : (e as Error).message };
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<ControlReply>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `the arbiter did not handle the command within ${COMMAND_TIMEOUT_MS / 1000} s` }), COMMAND_TIMEOUT_MS);
    });
    try {
      const run = runCommand(this.target, cmd).then((result): ControlReply => ({ ok: true, result }));
      return await Promise.race([run, timeout]);
    } catch (e) {
      if (!(e instanceof CommandError)) this.log?.error("Control command failed: %s", e instanceof Error ? (e.stack ?? e.message) : String(e));
      return { ok: false, error: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends the reply line, then closes once the socket has taken it all. */
  private reply(s: Socket<undefined>, c: Conn, reply: ControlReply): void {
    if (c.replied) return;
    c.answered = true;
    c.replied = true;
    if (c.timer !== null) clearTimeout(c.timer);
    // A reply the client may be slow to read is still bounded: the socket is cut after the timeout.
    c.timer = setTimeout(() => s.terminate(), REQUEST_TIMEOUT_MS);
    let text: string;
    try {
      text = JSON.stringify(reply);
    } catch (e) {
      text = JSON.stringify({ ok: false, error: `the reply could not be encoded: ${(e as Error).message}` });
    }
    c.pending = encoder.encode(`${text}\n`);
    this.onDrain(s);
  }

  private onDrain(s: Socket<undefined>): void {
    const c = this.conns.get(s);
    if (c === undefined || c.pending === null) return;
    const n = s.write(c.pending);
    c.pending = n >= c.pending.length ? null : c.pending.subarray(Math.max(0, n));
    if (c.pending === null) s.end();
  }

  private onClose(s: Socket<undefined>): void {
    const c = this.conns.get(s);
    if (c?.timer) clearTimeout(c.timer);
    this.conns.delete(s);
  }
}
