/**
 * RFC 6455 frames from a client, read incrementally: masking (every client frame must be masked),
 * 7-, 16- and 64-bit lengths, fragmented messages reassembled (control frames may come between
 * the fragments), control-frame rules (at most 125 bytes, never fragmented), the close payload
 * (a valid code, UTF-8 reason), UTF-8 in text messages, and a maximum message size.
 *
 * A violation is a {@link WebSocketProtocolError} carrying the close code to send (1002, 1007 or
 * 1009) and the reason Bun.serve gives for the same violation. No extension is negotiated, so
 * any RSV bit is an error.
 *
 * @module
 */

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
/** Not sent on the wire: a close frame without a code. */
export const CLOSE_NO_STATUS = 1005;
/** Not sent on the wire: the connection ended without a close frame. */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;

/** The longest control-frame payload. */
export const MAX_CONTROL_PAYLOAD = 125;

/** A client broke the protocol: close with `code`; `message` is the reason. */
export class WebSocketProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "WebSocketProtocolError";
  }
}

/** Whether a peer may send `code` in a close frame (RFC 6455 7.4, as Bun.serve checks it). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** What the parser reports. A callback may call {@link FrameParser.stop}: nothing more is read. */
export interface FrameSink {
  /** A whole message; text is already decoded (and valid UTF-8). */
  onMessage(message: string | Uint8Array): void;
  onPing(payload: Uint8Array): void;
  onPong(payload: Uint8Array): void;
  /** A close frame: its code (1005 when it has none) and reason. Nothing after it is read. */
  onCloseFrame(code: number, reason: string, payload: Uint8Array): void;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);

/** Decodes UTF-8, or throws the 1007 protocol error. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WebSocketProtocolError(CLOSE_INVALID_DATA, "Received invalid UTF-8");
  }
}

function protocolError(message: string): WebSocketProtocolError {
  return new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, message);
}

/** Reads client frames from the chunks given to {@link feed}. */
export class FrameParser {
  /** A frame header split across chunks (at most 14 bytes). */
  private readonly head = new Uint8Array(14);
  private headLen = 0;
  /** The frame whose payload is being read. */
  private opcode = -1;
  private fin = false;
  private readonly mask = new Uint8Array(4);
  private payload: Uint8Array = EMPTY;
  private payloadPos = 0;
  /** The fragmented message being assembled: its opcode (0: none), parts and size. */
  private messageOp = 0;
  private parts: Uint8Array[] = [];
  private messageSize = 0;
  private stopped = false;

  constructor(
    private readonly sink: FrameSink,
    /** The largest message accepted (Bun's `maxPayloadLength`); larger ones are 1009. */
    private readonly maxMessage: number,
  ) {}

  /** Reads no more input (after a close frame, or when the socket is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** Reads `chunk`. Throws {@link WebSocketProtocolError} on a violation (nothing more is read then). */
  feed(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    try {
      while (pos < len && !this.stopped) {
        if (this.opcode < 0) {
          pos = this.readHead(chunk, pos);
          if (this.opcode < 0) return;
          if (this.payload.length > 0) continue;
        } else {
          const want = this.payload.length - this.payloadPos;
          const n = Math.min(want, len - pos);
          this.unmask(chunk, pos, n);
          pos += n;
          if (n < want) return;
        }
        this.frameDone();
      }
    } catch (e) {
      this.stopped = true;
      throw e;
    }
  }

  /** Copies `n` payload bytes from `chunk[pos:]`, unmasking them. */
  private unmask(chunk: Uint8Array, pos: number, n: number): void {
    const out = this.payload;
    const m = this.mask;
    let j = this.payloadPos;
    const end = j + n;
    const m0 = m[0]!;
    const m1 = m[1]!;
    const m2 = m[2]!;
    const m3 = m[3]!;
    // Align on the mask's period, then four bytes at a time.
    while (j < end && (j & 3) !== 0) out[j] = chunk[pos++]! ^ m[j++ & 3]!;
    const end4 = end - 3;
    while (j < end4) {
      out[j] = chunk[pos]! ^ m0;
      out[j + 1] = chunk[pos + 1]! ^ m1;
      out[j + 2] = chunk[pos + 2]! ^ m2;
      out[j + 3] = chunk[pos + 3]! ^ m3;
      j += 4;
      pos += 4;
    }
    while (j < end) out[j] = chunk[pos++]! ^ m[j++ & 3]!;
    this.payloadPos = end;
  }

  /**
   * Reads a frame header from `chunk[pos:]` (completing one split across chunks); returns the
   * position after what it used. On a complete header, `opcode` is set and `payload` allocated.
   */
  private readHead(chunk: Uint8Array, pos: number): number {
    const avail = chunk.length - pos;
    const had = this.headLen;
    if (had === 0 && avail >= 2) {
      const need = headerSize(chunk, pos);
      if (avail >= need) {
        this.parseHead(chunk, pos);
        return pos + need;
      }
    }
    // Gather the header in `head`: at most 14 bytes, of which only the header's are used.
    const n = Math.min(14 - had, avail);
    this.head.set(chunk.subarray(pos, pos + n), had);
    this.headLen = had + n;
    if (this.headLen < 2) return pos + n;
    const need = headerSize(this.head, 0);
    if (this.headLen < need) return pos + n;
    this.headLen = 0;
    this.parseHead(this.head, 0);
    return pos + (need - had);
  }

  /** Checks the header at `h[at:]` and sets up its payload. */
  private parseHead(h: Uint8Array, at: number): void {
    const b0 = h[at]!;
    const b1 = h[at + 1]!;
    if (b0 & 0x40) throw protocolError("Received unexpected RSV1 bit");
    if (b0 & 0x30) throw protocolError("Received unexpected RSV2 or RSV3 bit");
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (op > OP_BINARY && (op < OP_CLOSE || op > OP_PONG)) throw protocolError("Received invalid opcode");
    if ((b1 & 0x80) === 0) throw protocolError("Received an incorrectly masked frame");
    let len = b1 & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = (h[p]! << 8) | h[p + 1]!;
      p += 2;
    } else if (len === 127) {
      const hi = ((h[p]! << 24) >>> 0) + (h[p + 1]! << 16) + (h[p + 2]! << 8) + h[p + 3]!;
      const lo = ((h[p + 4]! << 24) >>> 0) + (h[p + 5]! << 16) + (h[p + 6]! << 8) + h[p + 7]!;
      // Past 2^32 - 1 it is over any limit (and a set top bit is invalid anyway).
      len = hi === 0 ? lo : Infinity;
      p += 8;
    }
    if (op >= OP_CLOSE) {
      if (!fin) throw protocolError("Received fragmented control frame");
      if (len > MAX_CONTROL_PAYLOAD) throw protocolError("Received too big control frame");
    } else if (op === OP_CONTINUATION) {
      if (this.messageOp === 0) throw protocolError("Received continuation frame outside a fragmented message");
      if (this.messageSize + len > this.maxMessage) throw new WebSocketProtocolError(CLOSE_TOO_BIG, "Received too big message");
    } else {
      if (this.messageOp !== 0) throw protocolError("Received new message inside a fragmented message");
      if (len > this.maxMessage) throw new WebSocketProtocolError(CLOSE_TOO_BIG, "Received too big message");
    }
    this.mask[0] = h[p]!;
    this.mask[1] = h[p + 1]!;
    this.mask[2] = h[p + 2]!;
    this.mask[3] = h[p + 3]!;
    this.opcode = op;
    this.fin = fin;
    this.payload = len === 0 ? EMPTY : new Uint8Array(len);
    this.payloadPos = 0;
  }

  /** A frame's payload is complete: deliver it. */
  private frameDone(): void {
    const op = this.opcode;
    const payload = this.payload;
    this.opcode = -1;
    this.payload = EMPTY;
    const sink = this.sink;
    switch (op) {
      case OP_PING:
        sink.onPing(payload);
        return;
      case OP_PONG:
        sink.onPong(payload);
        return;
      case OP_CLOSE:
        this.stopped = true;
        this.closeFrame(payload);
        return;
    }
    if (op !== OP_CONTINUATION) {
      if (this.fin) {
        sink.onMessage(op === OP_TEXT ? decodeUtf8(payload) : payload);
        return;
      }
      this.messageOp = op;
    }
    this.parts.push(payload);
    this.messageSize += payload.length;
    if (!this.fin) return;
    const parts = this.parts;
    const message = parts.length === 1 ? parts[0]! : concat(parts, this.messageSize);
    const text = this.messageOp === OP_TEXT;
    this.messageOp = 0;
    this.parts = [];
    this.messageSize = 0;
    sink.onMessage(text ? decodeUtf8(message) : message);
  }

  private closeFrame(payload: Uint8Array): void {
    if (payload.length === 0) {
      this.sink.onCloseFrame(CLOSE_NO_STATUS, "", payload);
      return;
    }
    if (payload.length === 1) throw protocolError("Received invalid close payload");
    const code = (payload[0]! << 8) | payload[1]!;
    if (!isValidCloseCode(code)) throw protocolError("Received invalid close code");
    const reason = decodeUtf8(payload.subarray(2));
    this.sink.onCloseFrame(code, reason, payload);
  }
}

/** The size of the header starting at `h[at]` (at least 2 bytes there). */
function headerSize(h: Uint8Array, at: number): number {
  const b1 = h[at + 1]!;
  const l = b1 & 0x7f;
  const mask = b1 & 0x80 ? 4 : 0;
  return 2 + mask + (l === 126 ? 2 : l === 127 ? 8 : 0);
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
