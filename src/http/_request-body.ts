/**
 * Request-body readers, one per framing, fed by the connection's read loop while a body is
 * arriving (Gunicorn's `body.py` readers, undici's parser callbacks):
 *
 * - {@link BufferedBody}: a Content-Length body of at most {@link BUFFER_BODY_MAX} bytes,
 *   collected into one buffer before the app runs and handed to it as bytes, like a body that
 *   arrived with its head. A `ReadableStream` fed chunk by chunk costs a promise per chunk in
 *   `arrayBuffer()`/`json()`, and a 64 KiB body never arrives with its head (Bun reads at most
 *   64 KiB at a time).
 * - {@link LengthBody}: a larger Content-Length body, streamed to the app as it arrives.
 * - {@link ChunkedBody}: a `Transfer-Encoding: chunked` body, decoded and streamed.
 *
 * A streamed body's `ReadableStream` applies backpressure: reading from the socket pauses while
 * the app does not pull. A reader whose exchange is gone (answered, or its stream cancelled) is
 * *detached*: the rest of the body is read and dropped, so the next request can follow.
 *
 * @module
 */
import { ChunkedDecoder, type ChunkSink } from "./chunked.ts";
import { RequestBodyTooLarge } from "./errors.ts";
import type { Exchange } from "./_exchange.ts";

/** Content-Length bodies up to this size are collected before the app runs. */
export const BUFFER_BODY_MAX = 1024 * 1024;
/** Unread body bytes beyond which a finished exchange closes the connection instead of draining. */
export const MAX_DRAIN = 64 * 1024;
/** Bytes a request body stream holds before reading from the socket pauses. */
const BODY_HWM = 64 * 1024;

/** What a streamed body needs of its connection. */
export interface BodyOwner {
  /** Stops reading from the socket (the app's stream is full). */
  pauseReading(): void;
  /** Reading may go on (the app pulled, or cancelled the stream). */
  unblock(): void;
}

/** A small Content-Length body being collected before the app starts. */
export class BufferedBody {
  readonly streamed = false;
  private received: number;

  /** `first`: the body bytes that came with the head. */
  constructor(
    readonly ex: Exchange,
    readonly bytes: Buffer,
    first: Uint8Array,
  ) {
    bytes.set(first, 0);
    this.received = first.length;
  }

  /** Bytes still expected. */
  get remaining(): number {
    return this.bytes.length - this.received;
  }

  /** Takes body bytes from `buf[pos:]`; returns the new position. */
  feed(buf: Uint8Array, pos: number): number {
    const take = Math.min(this.remaining, buf.length - pos);
    this.bytes.set(take === buf.length - pos && pos === 0 ? buf : buf.subarray(pos, pos + take), this.received);
    this.received += take;
    return pos + take;
  }

  get done(): boolean {
    return this.received === this.bytes.length;
  }
}

/** A body handed to the app as a `ReadableStream` while it arrives. */
abstract class StreamedBody implements ChunkSink {
  readonly streamed = true;
  /** The exchange the body belongs to; null once detached (the rest is dropped). */
  ex: Exchange | null;
  private ctl: ReadableStreamDefaultController<Uint8Array> | null = null;
  private received = 0;
  /** The app's stream of this body. */
  readonly stream: ReadableStream<Uint8Array>;

  constructor(
    ex: Exchange,
    private readonly owner: BodyOwner,
    private readonly maxBody: number,
  ) {
    this.ex = ex;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.ctl = c;
        },
        pull: () => {
          owner.unblock();
        },
        cancel: () => {
          this.ctl = null;
          this.ex = null;
          owner.unblock();
        },
      },
      { highWaterMark: BODY_HWM, size: (c) => (c === undefined ? 0 : c.byteLength) },
    );
  }

  /** Bytes still expected: a number for a Content-Length body, Infinity while chunked. */
  abstract readonly remaining: number;
  /** Takes body bytes from `buf[pos:]`; returns the new position. Throws an HttpError on a malformed or too large body. */
  abstract feed(buf: Uint8Array, pos: number): number;
  abstract readonly done: boolean;

  /** Whether the socket may be read: the app's stream has room, or nobody reads it. */
  get wantsInput(): boolean {
    const c = this.ctl;
    return c === null || (c.desiredSize ?? 1) > 0;
  }

  /** ChunkSink: body data. */
  chunkData(buf: Uint8Array, start: number, end: number): void {
    if (start === end) return;
    this.received += end - start;
    if (this.received > this.maxBody) throw new RequestBodyTooLarge();
    const c = this.ctl;
    if (c === null) return; // detached: dropped
    c.enqueue(buf.subarray(start, end));
    if ((c.desiredSize ?? 1) <= 0) this.owner.pauseReading();
  }

  /** The body is complete, or the app no longer gets the rest: its stream ends. */
  detach(): void {
    this.ex = null;
    const c = this.ctl;
    if (c === null) return;
    this.ctl = null;
    try {
      c.close();
    } catch {
      /* cancelled */
    }
  }

  /** The body failed (malformed, too large, connection closed): the app's stream errors. */
  fail(err: unknown): void {
    this.ex = null;
    const c = this.ctl;
    if (c === null) return;
    this.ctl = null;
    try {
      c.error(err);
    } catch {
      /* already closed */
    }
  }
}

/** A Content-Length body streamed to the app. */
export class LengthBody extends StreamedBody {
  remaining: number;

  constructor(ex: Exchange, owner: BodyOwner, maxBody: number, length: number) {
    super(ex, owner, maxBody);
    this.remaining = length;
  }

  feed(buf: Uint8Array, pos: number): number {
    const take = Math.min(this.remaining, buf.length - pos);
    this.chunkData(buf, pos, pos + take);
    this.remaining -= take;
    return pos + take;
  }

  get done(): boolean {
    return this.remaining === 0;
  }
}

/** A chunked body, decoded and streamed to the app. */
export class ChunkedBody extends StreamedBody {
  readonly remaining = Infinity;

  /** `decoder`: the connection's decoder, reset. */
  constructor(
    ex: Exchange,
    owner: BodyOwner,
    maxBody: number,
    private readonly decoder: ChunkedDecoder,
  ) {
    super(ex, owner, maxBody);
  }

  feed(buf: Uint8Array, pos: number): number {
    return this.decoder.feed(buf, pos, buf.length, this);
  }

  get done(): boolean {
    return this.decoder.done;
  }
}

export type RequestBody = BufferedBody | LengthBody | ChunkedBody;
