// A raw TCP or unix-socket connection for test clients: data goes to `onData`, and every wait is
// bounded. Shared by the HTTP client (http-client.ts) and the raw WebSocket client (ws-client.ts).
import type { Socket } from "bun";

export interface RawSocket {
  readonly sock: Socket<undefined>;
  readonly closed: boolean;
  /** Resolves once `pred` holds (checked after each event); rejects after `ms` with `what` and `received()`. */
  wait(pred: () => boolean, ms: number, what: string): Promise<void>;
}

export async function openRawSocket(target: number | { unix: string }, onData: (d: Buffer) => void, received: () => string): Promise<RawSocket> {
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const handlers = {
    data(_s: Socket<undefined>, d: Buffer) {
      onData(d);
      wake();
    },
    close() {
      closed = true;
      wake();
    },
    error() {
      closed = true;
      wake();
    },
  };
  const sock =
    typeof target === "number"
      ? await Bun.connect({ hostname: "127.0.0.1", port: target, socket: handlers })
      : await Bun.connect({ unix: target.unix, socket: handlers });
  const wait = (pred: () => boolean, ms: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (pred()) return resolve();
      const check = () => {
        if (pred()) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${received()}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  return {
    sock,
    get closed() {
      return closed;
    },
    wait,
  };
}
