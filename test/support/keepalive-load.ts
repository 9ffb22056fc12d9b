// A keep-alive load client that counts every request exactly, as wrk's connections behave: each
// connection sends its next GET as soon as the previous answer is in (no think time), reconnects
// after a `Connection: close` answer, and a request is failed when its connection closes, is
// reset or times out before the whole answer arrived, or its connection cannot be opened.
// Every wait is bounded.
import type { Socket } from "bun";
import { parseResponse } from "./http-client.ts";

export interface LoadCounts {
  /** Requests answered (any status; see `statuses`). */
  ok: number;
  /** Requests sent (or whose connection could not be opened) that got no complete answer. */
  failed: number;
  /** Answers that said `Connection: close`. */
  closes: number;
  /** Connections opened. */
  connections: number;
  /** Answers by status. */
  statuses: Record<number, number>;
  /** The first few failures' reasons. */
  errors: string[];
}

export interface KeepAliveLoad {
  /** The counts so far (a copy). */
  counts(): LoadCounts;
  /** Stops after each connection's request in progress; resolves with the final counts. */
  stop(): Promise<LoadCounts>;
}

export interface LoadOptions {
  /** Concurrent connections (default 8). */
  connections?: number;
  /** Request target (default `/`). */
  path?: string;
  /** A request not answered within this is failed (default 5000 ms). */
  timeoutMs?: number;
  /** The load stops by itself after this long (default 60 s). */
  maxMs?: number;
}

type Target = number | { unix: string };

/** One connection's state: received text, and who waits for an answer or a close. */
class Conn {
  text = "";
  closed = false;
  wake: (() => void) | null = null;
  sock: Socket<undefined> | null = null;
}

export function startKeepAliveLoad(target: Target, opts: LoadOptions = {}): KeepAliveLoad {
  const c: LoadCounts = { ok: 0, failed: 0, closes: 0, connections: 0, statuses: {}, errors: [] };
  const path = opts.path ?? "/";
  const timeoutMs = opts.timeoutMs ?? 5000;
  const request = `GET ${path} HTTP/1.1\r\nHost: load.test\r\n\r\n`;
  let running = true;
  const until = Date.now() + (opts.maxMs ?? 60_000);
  const fail = (why: string) => {
    c.failed++;
    if (c.errors.length < 5) c.errors.push(why);
  };

  const open = async (): Promise<Conn | null> => {
    const conn = new Conn();
    const handlers = {
      data(_s: Socket<undefined>, d: Buffer) {
        conn.text += d.toString("latin1");
        conn.wake?.();
      },
      close() {
        conn.closed = true;
        conn.wake?.();
      },
      error() {
        conn.closed = true;
        conn.wake?.();
      },
    };
    try {
      conn.sock =
        typeof target === "number"
          ? await Bun.connect({ hostname: "127.0.0.1", port: target, socket: handlers })
          : await Bun.connect({ unix: target.unix, socket: handlers });
      c.connections++;
      return conn;
    } catch (e) {
      fail(`connect: ${(e as Error).message}`);
      return null;
    }
  };

  /** Sends one request on `conn`; returns whether the connection may be used again. */
  const exchange = async (conn: Conn): Promise<boolean> => {
    conn.text = "";
    conn.sock!.write(request);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = parseResponse(conn.text);
      if (r !== null) {
        c.ok++;
        c.statuses[r.status] = (c.statuses[r.status] ?? 0) + 1;
        const close = (r.headers["connection"] ?? "").toLowerCase() === "close";
        if (close) c.closes++;
        return !close && !conn.closed;
      }
      if (conn.closed) {
        fail(`closed after ${conn.text.length} bytes of the answer`);
        return false;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        fail("timed out");
        return false;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        conn.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      conn.wake = null;
    }
  };

  const loop = async () => {
    let conn: Conn | null = null;
    while (running && Date.now() < until) {
      // A connection the server closed while idle is not a failure: nothing was sent on it.
      if (conn === null || conn.closed) {
        conn = await open();
        if (conn === null) {
          await Bun.sleep(10);
          continue;
        }
      }
      if (!(await exchange(conn))) {
        conn.sock?.end();
        conn = null;
      }
    }
    conn?.sock?.end();
  };
  const loops = Array.from({ length: opts.connections ?? 8 }, loop);
  const copy = (): LoadCounts => ({ ...c, statuses: { ...c.statuses }, errors: [...c.errors] });
  return {
    counts: copy,
    async stop() {
      running = false;
      await Promise.all(loops);
      return copy();
    },
  };
}
