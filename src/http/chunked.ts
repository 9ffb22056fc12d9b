/**
 * Incremental decoder for chunked request bodies (RFC 9112 §7.1) with
 * Gunicorn's rules (`gunicorn/http/body.py`):
 * - chunk-size is 1*HEXDIG; whitespace after it is allowed only before `;ext`;
 * - a bare CR (or LF, NUL) in an extension is an error; extensions are capped;
 * - chunk data must be followed by CRLF;
 * - trailer fields are parsed (token name, colon, no CTLs) and discarded;
 *   Host, Content-Length, Transfer-Encoding, Trailer, Authorization and TE are
 *   forbidden there. The trailer section obeys the header field limits.
 *
 * Internal to the engine.
 * @module
 */
import {
  ChunkMissingTerminator,
  InvalidChunkExtension,
  InvalidChunkSize,
  InvalidTrailer,
  LimitRequestHeaders,
} from "./errors.ts";
import { TOKEN_CHARS } from "./parser.ts";

/** Receives decoded body bytes. */
export interface ChunkSink {
  /** Called with a view of decoded data; `buf[start:end]` is valid only during the call unless copied or sliced. */
  chunkData(buf: Uint8Array, start: number, end: number): void;
}

const S_SIZE_START = 0;
const S_SIZE = 1;
const S_SIZE_WS = 2;
const S_EXT = 3;
const S_SIZE_LF = 4;
const S_DATA = 5;
const S_DATA_CR = 6;
const S_DATA_LF = 7;
const S_TRAILER = 8;
const S_TRAILER_LF = 9;
const S_DONE = 10;

const MAX_EXT = 4096;
/** 13 significant hex digits keep the size below 2^52. */
const MAX_SIZE_DIGITS = 13;

const FORBIDDEN_TRAILERS = new Set(["host", "content-length", "transfer-encoding", "trailer", "authorization", "te"]);

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Incremental chunked-body decoder; reusable via {@link ChunkedDecoder.reset}. */
export class ChunkedDecoder {
  private state = S_SIZE_START;
  private size = 0;
  private digits = 0;
  private extLen = 0;
  private line = "";
  private trailerFields = 0;

  constructor(
    private readonly limitFields: number,
    private readonly limitFieldSize: number,
  ) {}

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === S_DONE;
  }

  /** Prepares for a new body. */
  reset(): void {
    this.state = S_SIZE_START;
    this.size = 0;
    this.digits = 0;
    this.extLen = 0;
    this.line = "";
    this.trailerFields = 0;
  }

  /**
   * Decodes `buf[start:end]`, passing data to `sink`. Returns the index just
   * past the last consumed byte: `end`, or less once the body is complete
   * ({@link done}). Throws an {@link HttpError} subclass on malformed input.
   */
  feed(buf: Uint8Array, start: number, end: number, sink: ChunkSink): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case S_DATA: {
          const take = Math.min(this.size, end - i);
          sink.chunkData(buf, i, i + take);
          i += take;
          this.size -= take;
          if (this.size === 0) this.state = S_DATA_CR;
          break;
        }
        case S_SIZE_START: {
          const v = hexVal(buf[i]!);
          if (v < 0) throw new InvalidChunkSize();
          this.size = v;
          this.digits = v === 0 ? 0 : 1;
          this.extLen = 0;
          this.state = S_SIZE;
          i++;
          break;
        }
        case S_SIZE: {
          const c = buf[i]!;
          const v = hexVal(c);
          if (v >= 0) {
            if (this.digits > 0 || v > 0) {
              if (++this.digits > MAX_SIZE_DIGITS) throw new InvalidChunkSize("Chunk size too large");
            }
            this.size = this.size * 16 + v;
          } else if (c === 13) {
            this.state = S_SIZE_LF;
          } else if (c === 59 /* ; */) {
            this.state = S_EXT;
          } else if (c === 32 || c === 9) {
            this.state = S_SIZE_WS;
          } else {
            throw new InvalidChunkSize();
          }
          i++;
          break;
        }
        case S_SIZE_WS: {
          const c = buf[i]!;
          if (c === 59) this.state = S_EXT;
          else if (c !== 32 && c !== 9) throw new InvalidChunkSize("Whitespace after chunk size is only allowed before an extension");
          i++;
          break;
        }
        case S_EXT: {
          const c = buf[i]!;
          if (c === 13) this.state = S_SIZE_LF;
          else if (c === 10 || c === 0 || c === 0x7f) throw new InvalidChunkExtension();
          else if (++this.extLen > MAX_EXT) throw new InvalidChunkExtension("Chunk extension too long");
          i++;
          break;
        }
        case S_SIZE_LF: {
          if (buf[i] !== 10) throw new InvalidChunkExtension("Bare CR in chunk size line");
          i++;
          if (this.size === 0) {
            this.state = S_TRAILER;
            this.line = "";
          } else {
            this.state = S_DATA;
          }
          break;
        }
        case S_DATA_CR: {
          if (buf[i] !== 13) throw new ChunkMissingTerminator();
          this.state = S_DATA_LF;
          i++;
          break;
        }
        case S_DATA_LF: {
          if (buf[i] !== 10) throw new ChunkMissingTerminator();
          this.state = S_SIZE_START;
          i++;
          break;
        }
        case S_TRAILER: {
          const c = buf[i]!;
          i++;
          if (c === 13) {
            this.state = S_TRAILER_LF;
          } else if (c === 10) {
            throw new InvalidTrailer("Bare LF in trailer section");
          } else {
            if (this.line.length + 3 > this.limitFieldSize) throw new LimitRequestHeaders("Trailer field too large");
            this.line += String.fromCharCode(c);
          }
          break;
        }
        case S_TRAILER_LF: {
          if (buf[i] !== 10) throw new InvalidTrailer("Bare CR in trailer section");
          i++;
          if (this.line.length === 0) {
            this.state = S_DONE;
            return i;
          }
          this.checkTrailer(this.line);
          this.line = "";
          this.state = S_TRAILER;
          break;
        }
        default:
          return i;
      }
    }
    return i;
  }

  private checkTrailer(line: string): void {
    if (++this.trailerFields > this.limitFields) throw new LimitRequestHeaders("Too many trailer fields");
    const colon = line.indexOf(":");
    if (colon <= 0) throw new InvalidTrailer("Malformed trailer field");
    for (let k = 0; k < colon; k++) {
      if (TOKEN_CHARS[line.charCodeAt(k)] !== 1) throw new InvalidTrailer("Invalid trailer field name");
    }
    for (let k = colon + 1; k < line.length; k++) {
      const c = line.charCodeAt(k);
      if ((c < 0x20 && c !== 9) || c === 0x7f) throw new InvalidTrailer("Invalid character in trailer value");
    }
    if (FORBIDDEN_TRAILERS.has(line.substring(0, colon).toLowerCase())) throw new InvalidTrailer("Forbidden trailer field");
  }
}
