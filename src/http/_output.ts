/**
 * A connection's outbound bytes: written straight to the socket, queued when the socket does not
 * take them all, flushed on `drain`.
 *
 * Heads and small bodies are assembled in one staging buffer shared by every connection of the
 * process and written with one `socket.write`, i.e. one send(2), as Bun.serve does (a separate
 * send for the head costs a packet and a wake-up of the client: 2 sends per 64 KiB echo doubled
 * the syscall count). The staging buffer grows on demand up to {@link STAGE_MAX}, so a worker that
 * sends big in-memory bodies keeps up to 1 MiB.
 *
 * The queue's size ({@link Output.queued}) is what the connection reads to stop taking requests
 * from a client that does not read its responses, and {@link Output.stalledSince} what the
 * engine's sweep reads to cut a connection whose queued bytes have not moved for `sendTimeout`.
 *
 * @module
 */
import { flushQueue, writeThrough } from "./socket-writes.ts";

/** What the output needs of Bun's socket. */
interface Writable {
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
}

const STAGE_MAX = 1024 * 1024;
let stage = Buffer.allocUnsafeSlow(64 * 1024);

/** The staging buffer, grown to hold `total` bytes; null when that is over {@link STAGE_MAX}. */
function stageFor(total: number): Buffer | null {
  if (total <= stage.length) return stage;
  if (total > STAGE_MAX) return null;
  let size = stage.length;
  while (size < total) size *= 2;
  stage = Buffer.allocUnsafeSlow(size);
  return stage;
}

function latin1Bytes(s: string): Buffer {
  const b = Buffer.allocUnsafe(s.length);
  b.write(s, 0, s.length, "latin1");
  return b;
}

/** The outbound side of one connection. */
export class Output {
  /** Bytes the socket has not accepted yet, in order; null when none. */
  private queue: Uint8Array[] | null = null;
  /** End the socket once the queue is flushed. */
  private ending = false;
  private drainWaiter: (() => void) | null = null;
  private closed = false;
  private queuedBytes = 0;
  /** `performance.now()` when queued bytes last moved (or were first queued); 0 while none are queued. */
  stalledSince = 0;

  constructor(private readonly socket: Writable) {}

  /** Whether bytes are waiting for the socket to drain. */
  get pending(): boolean {
    return this.queue !== null;
  }

  /** Bytes waiting for the socket to drain. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** Starts the queue with `rest`, what the socket did not take. */
  private startQueue(rest: Uint8Array): void {
    this.queue = [rest];
    this.queuedBytes = rest.length;
    this.stalledSince = performance.now();
  }

  /** Writes bytes, queueing what the socket does not take. */
  write(data: Uint8Array): void {
    if (this.closed) return;
    if (this.queue !== null) {
      this.queue.push(data);
      this.queuedBytes += data.length;
      return;
    }
    const rest = writeThrough(this.socket, data);
    if (rest !== null) this.startQueue(rest);
  }

  /** Writes the latin-1 string `head` followed by `body`, in one socket write up to 1 MiB. */
  writeHead(head: string, body: Uint8Array | null = null): void {
    const hl = head.length;
    const total = body === null ? hl : hl + body.length;
    const sc = stageFor(total);
    if (sc === null) {
      this.write(latin1Bytes(head));
      if (body !== null) this.write(body);
      return;
    }
    sc.write(head, 0, hl, "latin1");
    if (body !== null) sc.set(body, hl);
    this.writeStaged(total);
  }

  /** Writes one chunk of a `Transfer-Encoding: chunked` body, framing included. */
  writeChunk(chunk: Uint8Array): void {
    const size = chunk.length.toString(16);
    const sl = size.length;
    const len = chunk.length;
    const total = sl + 4 + len;
    const sc = stageFor(total);
    if (sc === null) {
      this.writeHead(size + "\r\n", chunk);
      this.writeHead("\r\n");
      return;
    }
    sc.write(size, 0, sl, "latin1");
    sc[sl] = 13;
    sc[sl + 1] = 10;
    sc.set(chunk, sl + 2);
    sc[sl + 2 + len] = 13;
    sc[sl + 3 + len] = 10;
    this.writeStaged(total);
  }

  /** Writes `stage[0:total]`, copying whatever the socket does not take. */
  private writeStaged(total: number): void {
    if (this.closed) return;
    if (this.queue !== null) {
      this.queue.push(Buffer.from(stage.subarray(0, total)));
      this.queuedBytes += total;
      return;
    }
    const n = this.socket.write(stage, 0, total);
    if (n < 0) return;
    if (n < total) this.startQueue(Buffer.from(stage.subarray(n, total)));
  }

  /** Ends the socket now, or once the queued bytes are flushed. */
  end(): void {
    if (this.closed) return;
    if (this.queue === null) this.socket.end();
    else this.ending = true;
  }

  /** The socket drained: writes what is queued, then ends the socket or wakes the writer waiting. */
  onDrain(): void {
    const q = this.queue;
    if (q !== null) {
      const n = flushQueue(this.socket, q);
      if (n > 0) {
        this.queuedBytes -= n;
        this.stalledSince = performance.now();
      }
      if (q.length > 0) return;
      this.queue = null;
      this.queuedBytes = 0;
      this.stalledSince = 0;
    }
    if (this.ending) {
      this.socket.end();
      return;
    }
    this.wake();
  }

  /** Resolves on the next drain that empties the queue (or when the connection closes). */
  waitDrain(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  /** The connection closed: nothing more is written, and a waiting writer goes on (to notice). */
  close(): void {
    this.closed = true;
    this.queue = null;
    this.queuedBytes = 0;
    this.stalledSince = 0;
    this.wake();
  }

  private wake(): void {
    const w = this.drainWaiter;
    if (w !== null) {
      this.drainWaiter = null;
      w();
    }
  }
}
