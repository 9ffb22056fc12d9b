/**
 * Writing to a Bun socket that may not take everything at once: the two steps the HTTP
 * connection's output (`_output.ts`) and a WebSocket connection (`websocket/connection.ts`)
 * share. Each keeps its own queue of what the socket has not taken yet.
 *
 * @module
 */

/** What these helpers need of Bun's socket. */
export interface WritableSocket {
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
}

/** Writes `data`; returns the part the socket did not take (null: all taken, or the socket is gone). */
export function writeThrough(socket: WritableSocket, data: Uint8Array): Uint8Array | null {
  const n = socket.write(data);
  return n < 0 || n >= data.length ? null : data.subarray(n);
}

/**
 * Writes the chunks of `queue` in order until the socket stops taking them, removing what was
 * written (a chunk written in part keeps its rest). Returns the bytes written; `queue` is empty
 * when everything went out.
 */
export function flushQueue(socket: WritableSocket, queue: Uint8Array[]): number {
  let written = 0;
  while (queue.length > 0) {
    const d = queue[0]!;
    const n = socket.write(d);
    if (n < 0) break;
    written += n;
    if (n < d.length) {
      queue[0] = d.subarray(n);
      break;
    }
    queue.shift();
  }
  return written;
}
