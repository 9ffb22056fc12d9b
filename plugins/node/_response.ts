/**
 * @module
 * Turns what a Node `ServerResponse` writes into a fetch `Response`, which bunicorn then sends
 * (both engines: keep-alive, TLS, limits and the access record stay theirs).
 *
 * With no native handle, Bun's `ServerResponse` works as Node's `OutgoingMessage` does: it renders
 * the head into `res._header` and writes it to its socket before the first body bytes (alone, or
 * as the prefix of the first string chunk). The head is read from `res._header` (status, reason,
 * header lines in the order and case the app gave), minus the hop-by-hop headers bunicorn sets
 * itself; chunked framing is switched off where the head is rendered (index.ts), so what follows
 * the head is the body as the app wrote it.
 *
 * - The body ends in the same tick as its head (`res.end(body)`, `res.send()`, `res.json()`):
 *   one in-memory body, sent with a `Content-Length`.
 * - Otherwise (`res.write()` now, more later): a `ReadableStream` that carries each write as it
 *   comes, so the client receives it at once. `res.write()` returns false once 64 KiB wait
 *   unsent, and the response emits `drain` when the client has taken them.
 */
import type { ByteSink } from "./_socket.ts";

/** Unsent bytes above which `res.write()` returns false (Node's default `highWaterMark`). */
const HIGH_WATER_MARK = 64 * 1024;

/** Headers of the connection, not of the response: bunicorn's engines set them. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding"]);

interface Head {
  status: number;
  statusText: string;
  headers: Headers;
}

export class ResponseSink implements ByteSink {
  /** The Response, once its head is known; rejects when the handler fails before that. */
  readonly response: Promise<Response>;
  private head: Head | null = null;
  private settled = false;
  private ended = false;
  private gone = false;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private needDrain = false;
  private resolve!: (res: Response) => void;
  private reject!: (error: unknown) => void;

  /**
   * @param renderedHead the head as the response rendered it (`res._header`), once it has
   * @param bodiless a HEAD request: the head only, whatever the handler writes
   * @param onDrain the response may take more bytes (after a write returned false)
   * @param onCancel the client went away while the body was streaming
   */
  constructor(
    private readonly renderedHead: () => unknown,
    private readonly bodiless: boolean,
    private readonly onDrain: () => void,
    private readonly onCancel: () => void,
  ) {
    this.response = new Promise<Response>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  write(data: string | Uint8Array, encoding: BufferEncoding | null | undefined): boolean {
    if (this.ended || this.gone) return false;
    if (this.head === null) {
      const header = this.renderedHead();
      // Before the head: an interim response (102, 103 Early Hints) a fetch Response cannot carry.
      if (typeof header !== "string" || header.length < 2 || typeof data !== "string" || !data.startsWith(header)) return true;
      this.head = parseHead(header);
      data = data.slice(header.length);
      // Whatever else the handler writes in this tick goes into the same in-memory body.
      queueMicrotask(() => this.start());
    }
    const bytes = typeof data === "string" ? Buffer.from(data, encoding ?? "utf8") : data;
    if (bytes.byteLength === 0) return true;
    if (this.controller !== null) {
      this.controller.enqueue(bytes);
      if ((this.controller.desiredSize ?? 0) > 0) return true;
      this.needDrain = true;
      return false;
    }
    if (this.settled) return true;
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    if (this.pendingBytes < HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  /** The response ended (`prefinish`, or `socket.end()`). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.head === null) return;
    if (!this.settled) this.settle(this.pending.length === 0 ? null : this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending));
    else if (this.controller !== null) {
      try {
        this.controller.close();
      } catch {}
    }
    this.pending = [];
  }

  destroyed(error: Error | null): void {
    if (this.gone) return;
    this.gone = true;
    if (!this.settled) {
      this.settled = true;
      this.reject(error ?? new Error("the handler destroyed the connection without a response"));
    } else if (this.controller !== null && !this.ended) {
      // Cut the body (the client sees a truncated response, as under Node). Without an error of
      // its own this is the app closing the connection on purpose: the engines' "connection was
      // closed", which they log at DEBUG only.
      try {
        this.controller.error(error ?? new DOMException("The connection was closed.", "AbortError"));
      } catch {}
    }
  }

  /** The handler failed: before the head, the request fails (bunicorn's 500); during a stream, the body is cut. */
  fail(error: unknown): boolean {
    if (!this.settled) {
      this.settled = true;
      this.gone = true;
      this.reject(error);
      return true;
    }
    if (this.controller !== null && !this.ended) {
      this.gone = true;
      try {
        this.controller.error(error);
      } catch {}
    }
    return false;
  }

  /** The tick of the head is over and the body did not end in it: stream the rest. */
  private start(): void {
    if (this.settled) return;
    if (this.ended) return;
    const head = this.head!;
    if (this.bodiless || !mayHaveBody(head.status)) {
      this.settle(null);
      return;
    }
    const first = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          for (const chunk of first) controller.enqueue(chunk);
        },
        pull: () => {
          if (!this.needDrain) return;
          this.needDrain = false;
          this.onDrain();
        },
        cancel: () => {
          this.gone = true;
          this.onCancel();
        },
      },
      { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.settle(body);
  }

  private settle(body: Uint8Array | ReadableStream<Uint8Array> | null): void {
    this.settled = true;
    const head = this.head!;
    if (this.bodiless || !mayHaveBody(head.status)) body = null;
    try {
      this.resolve(new Response(body, { status: head.status, statusText: head.statusText, headers: head.headers }));
    } catch (e) {
      // A status a fetch Response cannot have (101, 1xx, 600-999).
      this.reject(e);
      return;
    }
    if (this.needDrain && body === null) {
      this.needDrain = false;
      this.onDrain();
    }
  }
}

function mayHaveBody(status: number): boolean {
  return status !== 204 && status !== 205 && status !== 304;
}

/** `HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n`, as `ServerResponse` renders it. */
function parseHead(header: string): Head {
  const lines = header.split("\r\n");
  const statusLine = lines[0]!;
  const status = Number.parseInt(statusLine.slice(9, 12), 10);
  const statusText = statusLine.slice(13);
  const headers = new Headers();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    headers.append(name, line.slice(colon + 1).trim());
  }
  return { status, statusText, headers };
}
