/**
 * RFC 6455 frames from the server: unmasked, FIN set (the engine never fragments what it sends),
 * header and payload in one buffer so that one frame is one socket write.
 *
 * @module
 */
import { CLOSE_ABNORMAL, CLOSE_NO_STATUS, OP_CLOSE } from "./frame-parser.ts";

/** The longest close reason (a close frame's payload is at most 125 bytes, 2 of them the code). */
const MAX_REASON = 123;

function headerLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

function writeHeader(buf: Uint8Array, opcode: number, n: number): number {
  buf[0] = 0x80 | opcode;
  if (n < 126) {
    buf[1] = n;
    return 2;
  }
  if (n < 65536) {
    buf[1] = 126;
    buf[2] = n >>> 8;
    buf[3] = n & 0xff;
    return 4;
  }
  buf[1] = 127;
  const hi = Math.floor(n / 0x100000000);
  buf[2] = 0;
  buf[3] = 0;
  buf[4] = (hi >>> 8) & 0xff;
  buf[5] = hi & 0xff;
  buf[6] = (n >>> 24) & 0xff;
  buf[7] = (n >>> 16) & 0xff;
  buf[8] = (n >>> 8) & 0xff;
  buf[9] = n & 0xff;
  return 10;
}

/** A frame of `opcode` carrying `payload`. */
export function encodeFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const out = Buffer.allocUnsafe(headerLength(n) + n);
  out.set(payload, writeHeader(out, opcode, n));
  return out;
}

/** A frame of `opcode` carrying `text` as UTF-8, and the payload's size. */
export function encodeTextFrame(opcode: number, text: string): { frame: Buffer; size: number } {
  const n = Buffer.byteLength(text, "utf8");
  const out = Buffer.allocUnsafe(headerLength(n) + n);
  out.write(text, writeHeader(out, opcode, n), n, "utf8");
  return { frame: out, size: n };
}

/** `reason` cut to at most 123 bytes of UTF-8, at a character boundary. */
export function truncateReason(reason: string): string {
  if (reason.length <= MAX_REASON / 3 || Buffer.byteLength(reason, "utf8") <= MAX_REASON) return reason;
  let out = "";
  let bytes = 0;
  for (const ch of reason) {
    const b = Buffer.byteLength(ch, "utf8");
    if (bytes + b > MAX_REASON) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/**
 * A close frame with `code` and `reason` (already truncated). `0`, 1005 and 1006 send no code, as
 * Bun's `ws.close()` does, so a code from a close handler can be passed on unchanged.
 */
export function encodeClose(code: number, reason: string): Buffer {
  if (code === 0 || code === CLOSE_NO_STATUS || code === CLOSE_ABNORMAL) return encodeFrame(OP_CLOSE, new Uint8Array(0));
  const r = Buffer.from(reason, "utf8");
  const payload = new Uint8Array(2 + r.length);
  payload[0] = (code >>> 8) & 0xff;
  payload[1] = code & 0xff;
  payload.set(r, 2);
  return encodeFrame(OP_CLOSE, payload);
}
