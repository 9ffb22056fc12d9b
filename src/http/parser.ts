/**
 * Incremental HTTP/1.1 request-head parser with Gunicorn's limits and policies.
 *
 * The parser is fed raw socket chunks. It scans for line ends with the native
 * `Uint8Array#indexOf`, enforces the per-line limits as soon as a line is
 * complete (or is already too long while still incomplete), and only when the
 * blank line ending the head arrives does it decode the head once (latin-1,
 * as Gunicorn does) and slice names, values, method and target out of that
 * single string. A head that arrives in one chunk (the common case) is parsed
 * without copying; a split head is concatenated.
 *
 * Rules (see `gunicorn/http/message.py`):
 * - request line `method SP target SP HTTP/d.d`, split on single spaces;
 *   lines end in CRLF (a bare LF is rejected); up to 8 empty lines before the
 *   request line are skipped (RFC 9112 §2.2).
 * - method: an RFC 9110 token; unless `permitUnconventionalHttpMethod`, 3–20
 *   characters with no `a-z` or `#`. `casefoldHttpMethod` upper-cases it
 *   (which only matters when unconventional methods are permitted).
 * - target: no CTL, SP or DEL; non-empty; `*` only with OPTIONS; the authority
 *   form only (and always) with CONNECT; otherwise origin form (`/…`) or an
 *   absolute `http://` / `https://` URI. Relative targets are rejected.
 * - version: `HTTP/<digit>.<digit>` else 400; 1.0 and 1.1 are served; any
 *   other well-formed version is 505 unless `permitUnconventionalHttpVersion`
 *   (then 1.x is served with 1.1 semantics and others with 1.0 semantics).
 * - header names are tokens (`stripHeaderSpaces` drops SP/HT before the colon);
 *   values are trimmed of SP/HT and must not contain CTLs (except HTAB) or DEL;
 *   obs-fold continuation lines are rejected unless `permitObsoleteFolding`.
 * - Host and Content-Type may appear only once; Host must look like an
 *   authority (`host[:port]`).
 * - Content-Length: digits only, at most once.
 * - Transfer-Encoding: a list; `chunked` must be last and appear once;
 *   `identity` only before chunked (alone it is ignored); `gzip`, `deflate`,
 *   `compress` are accepted before chunked (bytes are passed on undecoded and
 *   the connection closes afterwards); anything else is 501; codings without a
 *   final `chunked` are 400 (RFC 9112 §6.3); chunked with Content-Length or on
 *   HTTP/1.0 is 400.
 * - `Expect: 100-continue` is honoured on HTTP/1.1 (ignored on 1.0); any
 *   other expectation is 417.
 *
 * The PROXY protocol header is not this parser's job: the engine reads it
 * before the first request head (`proxy-protocol.ts`).
 *
 * Names containing `_` are flagged (`head.underscore`); the engine applies
 * `header_map` and a trusted proxy's scheme headers (`forwarding.ts`).
 *
 * @module
 */
import {
  ExpectationFailed,
  InvalidHeader,
  InvalidHeaderName,
  InvalidHTTPVersion,
  InvalidRequestLine,
  InvalidRequestMethod,
  LimitRequestHeaders,
  LimitRequestLine,
  ObsoleteFolding,
  RequestBodyTooLarge,
  UnsupportedHTTPVersion,
  UnsupportedTransferCoding,
} from "./errors.ts";
import { HOST_CHARS } from "./host.ts";
import {
  DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
  DEFAULT_LIMIT_REQUEST_FIELDS,
  DEFAULT_LIMIT_REQUEST_LINE,
  MAX_HEADERS,
  MAX_REQUEST_LINE,
} from "./limits.ts";

/** Gunicorn's `MAX_REQUEST_LINE` (larger `limitRequestLine` values are clamped to it) and
 * `MAX_HEADERS` (the cap for `limitRequestFields`). */
export { MAX_HEADERS, MAX_REQUEST_LINE };
/** Gunicorn's `DEFAULT_MAX_HEADERFIELD_SIZE`. */
export const DEFAULT_MAX_HEADERFIELD_SIZE = DEFAULT_LIMIT_REQUEST_FIELD_SIZE;
/**
 * `limitRequestLine: 0` means "unlimited" as in Gunicorn, but a worker must
 * not buffer an endless line, so the engine still stops at this many bytes.
 */
export const UNLIMITED_REQUEST_LINE_CAP = 1 << 20;

/** Parser policy options; names mirror Gunicorn settings (camel-cased). */
export interface HttpParserOptions {
  /** Max request-line length in bytes (without CRLF). Default 4094; 0 = unlimited (1 MiB safety cap); values > 8190 (or < 0) clamp to 8190. */
  limitRequestLine?: number;
  /** Max number of header fields. Default 100; 0, negative or > 32768 means 32768. */
  limitRequestFields?: number;
  /** Max size of one header field line including its CRLF. Default 8190; 0 or negative means 8190. */
  limitRequestFieldSize?: number;
  /** Accept obs-fold continuation lines (joined with one space). Default false. */
  permitObsoleteFolding?: boolean;
  /** Strip SP/HT between a header name and the colon instead of rejecting it. Default false. */
  stripHeaderSpaces?: boolean;
  /** Accept any token as method (lower case, `#`, any length). Default false. */
  permitUnconventionalHttpMethod?: boolean;
  /** Accept well-formed versions other than 1.0/1.1 instead of answering 505. Default false. */
  permitUnconventionalHttpVersion?: boolean;
  /** Upper-case the method (only has an effect with unconventional methods permitted). Default false. */
  casefoldHttpMethod?: boolean;
}

/** {@link HttpParserOptions} with defaults applied and limits normalized. */
export interface ResolvedParserOptions {
  /** Marks an already-resolved options object. */
  readonly resolved: true;
  /** Effective request-line limit in bytes (never 0). */
  limitRequestLine: number;
  limitRequestFields: number;
  limitRequestFieldSize: number;
  permitObsoleteFolding: boolean;
  stripHeaderSpaces: boolean;
  permitUnconventionalHttpMethod: boolean;
  permitUnconventionalHttpVersion: boolean;
  casefoldHttpMethod: boolean;
}

/** Applies Gunicorn's defaults and clamping rules to parser options. */
export function resolveParserOptions(o: HttpParserOptions = {}): ResolvedParserOptions {
  let line = o.limitRequestLine ?? DEFAULT_LIMIT_REQUEST_LINE;
  if (!Number.isFinite(line) || line < 0 || line > MAX_REQUEST_LINE) line = MAX_REQUEST_LINE;
  else if (line === 0) line = UNLIMITED_REQUEST_LINE_CAP;
  line = Math.floor(line);
  let fields = o.limitRequestFields ?? DEFAULT_LIMIT_REQUEST_FIELDS;
  if (!Number.isFinite(fields) || fields <= 0 || fields > MAX_HEADERS) fields = MAX_HEADERS;
  fields = Math.floor(fields);
  let fieldSize = o.limitRequestFieldSize ?? DEFAULT_MAX_HEADERFIELD_SIZE;
  if (!Number.isFinite(fieldSize) || fieldSize <= 0) fieldSize = DEFAULT_MAX_HEADERFIELD_SIZE;
  fieldSize = Math.floor(fieldSize);
  return {
    resolved: true,
    limitRequestLine: line,
    limitRequestFields: fields,
    limitRequestFieldSize: fieldSize,
    permitObsoleteFolding: o.permitObsoleteFolding === true,
    stripHeaderSpaces: o.stripHeaderSpaces === true,
    permitUnconventionalHttpMethod: o.permitUnconventionalHttpMethod === true,
    permitUnconventionalHttpVersion: o.permitUnconventionalHttpVersion === true,
    casefoldHttpMethod: o.casefoldHttpMethod === true,
  };
}

/** A parsed request head. */
export class RequestHead {
  /** Request method as sent (upper-cased if `casefoldHttpMethod`). */
  method = "";
  /** The raw request target, e.g. `/a/../b?q=1`, `*`, `http://x/y`, `host:443`. */
  target = "";
  /** Whether the target has bytes above 0x7f (raw UTF-8): the URL then decodes them as UTF-8 first, as Bun.serve does. */
  targetNonAscii = false;
  /** `"1.0"` or `"1.1"` as sent (or the unconventional version when permitted). */
  httpVersion = "1.1";
  /** 0 for HTTP/1.0 semantics, 1 for HTTP/1.1 semantics. */
  versionMinor = 1;
  /** Header fields as a flat `[name, value, name, value, …]` list, names as received. */
  headers: string[] = [];
  /** The Host header value, or null when absent. */
  host: string | null = null;
  /** Content-Length, or -1 when absent. */
  contentLength = -1;
  /** Whether the body uses chunked transfer coding. */
  chunked = false;
  /** Whether the connection may stay open after this exchange. */
  keepAlive = true;
  /** Whether the client sent `Expect: 100-continue` (HTTP/1.1 only). */
  expectContinue = false;
  /** Bytes of the head, including the final CRLF CRLF. */
  headBytes = 0;
  /** Whether a field name contains `_` (`header_map` applies: src/http/forwarding.ts). */
  underscore = false;
  /** The scheme a trusted proxy's headers give, set by the engine (null: the listener's). */
  forwardedScheme: "http://" | "https://" | null = null;
}

const SP = 32;
const HT = 9;
const CR = 13;
const LF = 10;
const MAX_LEADING_EMPTY_LINES = 8;

/** 1 for RFC 9110 `tchar`. */
export const TOKEN_CHARS: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** 1 for scheme characters after the first letter. */
const SCHEME_CHARS: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "+-.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** Node/Bun Buffer's undocumented fast latin-1 decoder. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/** Decodes bytes as latin-1 (one char per byte, so string offsets equal byte offsets). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const b = buf as unknown as Latin1Slicer;
  if (typeof b.latin1Slice === "function") return b.latin1Slice(start, end);
  return (Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as unknown as Latin1Slicer).latin1Slice(start, end);
}

/** Case-insensitive compare of `s[start:start+lower.length]` with an all-lowercase ASCII name. */
function nameIs(s: string, start: number, len: number, lower: string): boolean {
  if (len !== lower.length) return false;
  for (let i = 0; i < len; i++) {
    // Names are validated tokens, so `| 0x20` only folds letters (and keeps '-', digits).
    if ((s.charCodeAt(start + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Incremental request-head parser. One instance per connection; call
 * {@link HttpRequestParser.feed} with every chunk until it returns ≥ 0, take
 * {@link HttpRequestParser.head}, then feed the bytes after the head (the
 * body is framed by the caller) and continue with the next head.
 */
export class HttpRequestParser {
  /** Effective options. */
  readonly options: ResolvedParserOptions;
  /** The last completed head (set when {@link feed} returns ≥ 0). */
  head: RequestHead | null = null;

  /** Bytes of an incomplete head from earlier chunks. */
  private pending: Uint8Array | null = null;
  /**
   * Where a head split over several reads is assembled (`pending` is its start), grown by
   * doubling: a head trickling in small pieces is copied O(n) times, not O(n²) (800 KB in
   * 100-byte pieces cost 400 ms of copying).
   */
  private store: Buffer | null = null;
  /** Offset (from head start) of the first byte not yet scanned for LF. */
  private scanned = 0;
  /** Offset (from head start) of the current line's first byte. */
  private lineStart = 0;
  private emptyLines = 0;
  private sawRequestLine = false;
  private fieldCount = 0;
  /** Line boundaries relative to head start: [start0, end0, start1, end1, …] (end excludes CRLF). */
  private lines: number[] = [];

  constructor(options?: HttpParserOptions | ResolvedParserOptions) {
    this.options = options !== undefined && "resolved" in options && options.resolved === true ? options : resolveParserOptions(options);
  }

  /** Number of bytes of an incomplete head currently buffered. */
  get buffered(): number {
    return this.pending === null ? 0 : this.pending.length;
  }

  /** Forgets any partial head. */
  reset(): void {
    this.pending = null;
    this.store = null;
    this.scanned = 0;
    this.lineStart = 0;
    this.emptyLines = 0;
    this.sawRequestLine = false;
    this.fieldCount = 0;
    this.lines.length = 0;
  }

  /**
   * Feeds `chunk[offset:]`. Returns the index in `chunk` just past the end of
   * the head once a full head is available (see {@link head}), or -1 when all
   * bytes were consumed and more are needed. Throws an {@link HttpError}
   * subclass on a protocol violation; the parser is then unusable until
   * {@link reset}.
   */
  feed(chunk: Uint8Array, offset = 0): number {
    let buf: Uint8Array;
    let base: number;
    let pendLen = 0;
    if (this.pending === null) {
      buf = chunk;
      base = offset;
    } else {
      pendLen = this.pending.length;
      const tail = chunk.subarray(offset);
      const need = pendLen + tail.length;
      let store = this.store;
      if (store === null || store.length < need) {
        const grown = Buffer.allocUnsafe(Math.max(need, 2 * pendLen, 4096));
        grown.set(this.pending, 0);
        this.store = store = grown;
      }
      // (Once in the store, `pending` is the store's start: only the new bytes are copied.)
      store.set(tail, pendLen);
      buf = store.subarray(0, need);
      base = 0;
    }
    const end = buf.length;
    const o = this.options;
    let i = base + this.scanned;
    for (;;) {
      // A JS loop beats a native indexOf call on short header lines.
      let lf = -1;
      for (let k = i; k < end; k++) {
        if (buf[k] === LF) {
          lf = k;
          break;
        }
      }
      if (lf < 0) {
        // Incomplete line: enforce limits early so a huge line is never buffered.
        const partial = end - (base + this.lineStart);
        if (!this.sawRequestLine) {
          if (partial > o.limitRequestLine + 1) throw new LimitRequestLine();
        } else if (partial + 1 > o.limitRequestFieldSize) {
          throw new LimitRequestHeaders("Request header field too large");
        }
        this.pending = base === 0 && buf !== chunk ? buf : chunk.subarray(base);
        // Offsets are relative to the pending buffer's start from now on.
        this.scanned = end - base;
        return -1;
      }
      const ls = base + this.lineStart;
      if (lf === ls || buf[lf - 1] !== CR) {
        throw this.sawRequestLine ? new InvalidHeader("Bare LF in header section") : new InvalidRequestLine("Bare LF in request line");
      }
      const len = lf - 1 - ls;
      if (!this.sawRequestLine) {
        if (len === 0) {
          if (++this.emptyLines > MAX_LEADING_EMPTY_LINES) throw new InvalidRequestLine("Too many empty lines");
          this.lineStart = lf + 1 - base;
          i = lf + 1;
          continue;
        }
        if (len > o.limitRequestLine) throw new LimitRequestLine();
        this.sawRequestLine = true;
        this.lines.push(this.lineStart, lf - 1 - base);
      } else if (len === 0) {
        // End of head.
        const headEnd = lf + 1;
        const head = this.finish(buf, base, headEnd);
        head.headBytes = headEnd - base;
        this.head = head;
        this.reset();
        return pendLen === 0 ? headEnd : offset + (headEnd - pendLen);
      } else {
        if (len + 2 > o.limitRequestFieldSize) throw new LimitRequestHeaders("Request header field too large");
        const c0 = buf[ls];
        if (c0 !== SP && c0 !== HT) {
          if (this.fieldCount >= o.limitRequestFields) throw new LimitRequestHeaders("Too many request header fields");
          this.fieldCount++;
        }
        this.lines.push(this.lineStart, lf - 1 - base);
      }
      this.lineStart = lf + 1 - base;
      i = lf + 1;
    }
  }

  /** Decodes and validates a complete head `buf[base:headEnd]`. */
  private finish(buf: Uint8Array, base: number, headEnd: number): RequestHead {
    const o = this.options;
    const s = typeof (buf as unknown as Latin1Slicer).latin1Slice === "function" ? (buf as unknown as Latin1Slicer).latin1Slice(base, headEnd) : latin1(buf, base, headEnd);
    const lines = this.lines;
    const head = new RequestHead();

    // ---- request line
    const rlStart = lines[0]!;
    const rlEnd = lines[1]!;
    const sp1 = indexOfCode(s, SP, rlStart, rlEnd);
    if (sp1 < 0 || sp1 >= rlEnd) throw new InvalidRequestLine();
    if (sp1 === rlStart) throw new InvalidRequestMethod("Empty method");
    let lowerOrHash = false;
    for (let k = rlStart; k < sp1; k++) {
      const c = s.charCodeAt(k);
      if (TOKEN_CHARS[c] !== 1) throw new InvalidRequestMethod();
      if ((c >= 97 && c <= 122) || c === 35) lowerOrHash = true;
    }
    const mlen = sp1 - rlStart;
    if (!o.permitUnconventionalHttpMethod && (lowerOrHash || mlen < 3 || mlen > 20)) throw new InvalidRequestMethod();
    let method = s.substring(rlStart, sp1);
    if (o.casefoldHttpMethod && lowerOrHash) method = method.toUpperCase();
    head.method = method;

    const tStart = sp1 + 1;
    const sp2 = indexOfCode(s, SP, tStart, rlEnd);
    if (sp2 < 0 || sp2 >= rlEnd) throw new InvalidRequestLine();
    if (sp2 === tStart) throw new InvalidRequestLine("Empty request target");
    for (let k = tStart; k < sp2; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x21 || c === 0x7f) throw new InvalidRequestLine("Invalid character in request target");
      if (c > 0x7f) head.targetNonAscii = true;
    }
    const target = s.substring(tStart, sp2);
    const t0 = s.charCodeAt(tStart);
    if (method === "CONNECT") {
      // authority-form only
      for (let k = tStart; k < sp2; k++) {
        if (HOST_CHARS[s.charCodeAt(k)] !== 1) throw new InvalidRequestLine("Invalid authority-form target");
      }
    } else if (t0 === 47 /* / */) {
      // origin-form
    } else if (t0 === 42 /* * */ && sp2 === tStart + 1) {
      if (method !== "OPTIONS") throw new InvalidRequestLine("Asterisk-form target is only allowed with OPTIONS");
    } else if (!isHttpAbsolute(s, tStart, sp2)) {
      throw new InvalidRequestLine("Invalid request target");
    }
    head.target = target;

    // version
    const vStart = sp2 + 1;
    if (
      rlEnd - vStart !== 8 ||
      s.charCodeAt(vStart) !== 72 ||
      s.charCodeAt(vStart + 1) !== 84 ||
      s.charCodeAt(vStart + 2) !== 84 ||
      s.charCodeAt(vStart + 3) !== 80 ||
      s.charCodeAt(vStart + 4) !== 47 ||
      !isDigit(s.charCodeAt(vStart + 5)) ||
      s.charCodeAt(vStart + 6) !== 46 ||
      !isDigit(s.charCodeAt(vStart + 7))
    ) {
      throw new InvalidHTTPVersion();
    }
    const major = s.charCodeAt(vStart + 5) - 48;
    const minor = s.charCodeAt(vStart + 7) - 48;
    if (major === 1 && minor === 1) {
      head.httpVersion = "1.1";
      head.versionMinor = 1;
    } else if (major === 1 && minor === 0) {
      head.httpVersion = "1.0";
      head.versionMinor = 0;
    } else if (o.permitUnconventionalHttpVersion) {
      head.httpVersion = `${major}.${minor}`;
      head.versionMinor = major >= 1 ? 1 : 0;
    } else {
      throw new UnsupportedHTTPVersion();
    }

    // ---- header fields
    const headers = head.headers;
    let closeTok = false;
    let keepAliveTok = false;
    let teSeen = false;
    let chunked = false;
    let otherCoding = false;
    let forceClose = false;
    let contentType = false;
    let fieldLen = 0;
    const n = lines.length;
    for (let li = 2; li < n; li += 2) {
      const ls = lines[li]!;
      const le = lines[li + 1]!;
      const c0 = s.charCodeAt(ls);
      if (c0 === SP || c0 === HT) {
        if (headers.length === 0) throw new InvalidHeaderName("Header section starts with whitespace");
        if (!o.permitObsoleteFolding) throw new ObsoleteFolding();
        fieldLen += le - ls + 2;
        if (fieldLen > o.limitRequestFieldSize) throw new LimitRequestHeaders("Request header field too large");
        let vs = ls;
        let ve = le;
        while (vs < ve && isWs(s.charCodeAt(vs))) vs++;
        while (ve > vs && isWs(s.charCodeAt(ve - 1))) ve--;
        checkValue(s, vs, ve);
        const last = headers.length - 1;
        headers[last] = headers[last] + " " + s.substring(vs, ve);
        // Folded special headers are re-checked below by name.
        const nm = headers[last - 1]!;
        if (isSpecialName(nm)) throw new InvalidHeader("Obsolete folding in a framing header");
        continue;
      }
      fieldLen = le - ls + 2;
      const colon = indexOfCode(s, 58, ls, le);
      if (colon < 0 || colon >= le) throw new InvalidHeader("Missing colon in header line");
      if (colon === ls) throw new InvalidHeader("Empty header name");
      let ne = colon;
      if (o.stripHeaderSpaces) {
        while (ne > ls && isWs(s.charCodeAt(ne - 1))) ne--;
        if (ne === ls) throw new InvalidHeaderName();
      }
      for (let k = ls; k < ne; k++) {
        const ch = s.charCodeAt(k);
        if (TOKEN_CHARS[ch] !== 1) throw new InvalidHeaderName();
        if (ch === 95 /* _ */) head.underscore = true;
      }
      let vs = colon + 1;
      let ve = le;
      while (vs < ve && isWs(s.charCodeAt(vs))) vs++;
      while (ve > vs && isWs(s.charCodeAt(ve - 1))) ve--;
      checkValue(s, vs, ve);
      const nlen = ne - ls;
      const value = s.substring(vs, ve);
      const c = s.charCodeAt(ls) | 0x20;
      if (c === 99 /* c */) {
        if (nameIs(s, ls, nlen, "content-length")) {
          if (head.contentLength !== -1) throw new InvalidHeader("Duplicate Content-Length");
          head.contentLength = parseContentLength(s, vs, ve);
        } else if (nameIs(s, ls, nlen, "connection")) {
          const v = value.toLowerCase();
          if (v === "close") closeTok = true;
          else if (v === "keep-alive") keepAliveTok = true;
          else {
            for (const part of v.split(",")) {
              const p = part.trim();
              if (p === "close") closeTok = true;
              else if (p === "keep-alive") keepAliveTok = true;
            }
          }
        } else if (nameIs(s, ls, nlen, "content-type")) {
          if (contentType) throw new InvalidHeader("Duplicate Content-Type");
          contentType = true;
        }
      } else if (c === 116 /* t */) {
        if (nameIs(s, ls, nlen, "transfer-encoding")) {
          teSeen = true;
          const v = value.toLowerCase();
          for (const part of v === "chunked" ? CHUNKED_ONLY : v.split(",")) {
            const p = part.trim();
            if (p === "chunked") {
              if (chunked) throw new InvalidHeader("Transfer-Encoding: chunked given twice");
              chunked = true;
            } else if (p === "identity") {
              if (chunked) throw new InvalidHeader("Transfer-Encoding: chunked must be last");
            } else if (p === "gzip" || p === "deflate" || p === "compress" || p === "x-gzip") {
              if (chunked) throw new InvalidHeader("Transfer-Encoding: chunked must be last");
              otherCoding = true;
              forceClose = true;
            } else {
              throw new UnsupportedTransferCoding();
            }
          }
        }
      } else if (c === 104 /* h */) {
        if (nameIs(s, ls, nlen, "host")) {
          if (head.host !== null) throw new InvalidHeader("Duplicate Host");
          for (let k = vs; k < ve; k++) {
            if (HOST_CHARS[s.charCodeAt(k)] !== 1) throw new InvalidHeader("Invalid Host");
          }
          head.host = value;
        }
      } else if (c === 101 /* e */) {
        if (nameIs(s, ls, nlen, "expect")) {
          if (value.toLowerCase() === "100-continue") {
            if (head.versionMinor >= 1) head.expectContinue = true;
          } else {
            throw new ExpectationFailed();
          }
        }
      }
      headers.push(s.substring(ls, ne), value);
    }

    if (teSeen) {
      if (chunked) {
        if (head.versionMinor === 0) throw new InvalidHeader("Chunked transfer coding on HTTP/1.0");
        if (head.contentLength !== -1) throw new InvalidHeader("Content-Length with Transfer-Encoding");
        head.chunked = true;
      } else if (otherCoding) {
        throw new InvalidHeader("Transfer-Encoding without final chunked");
      }
    }
    head.keepAlive = !forceClose && !closeTok && (head.versionMinor >= 1 || keepAliveTok);
    return head;
  }
}

const CHUNKED_ONLY = ["chunked"];

/** Index of char code `c` in `s[from:to]`, or -1 (a JIT-friendly loop; lines are short). */
function indexOfCode(s: string, c: number, from: number, to: number): number {
  for (let k = from; k < to; k++) if (s.charCodeAt(k) === c) return k;
  return -1;
}

function isWs(c: number): boolean {
  return c === SP || c === HT;
}

function isSpecialName(name: string): boolean {
  const l = name.toLowerCase();
  return l === "content-length" || l === "transfer-encoding" || l === "host" || l === "expect" || l === "connection" || l === "content-type";
}

function checkValue(s: string, vs: number, ve: number): void {
  for (let k = vs; k < ve; k++) {
    const c = s.charCodeAt(k);
    if ((c < 0x20 && c !== HT) || c === 0x7f) throw new InvalidHeader("Invalid character in header value");
  }
}

function parseContentLength(s: string, vs: number, ve: number): number {
  if (vs === ve) throw new InvalidHeader("Empty Content-Length");
  let n = 0;
  for (let k = vs; k < ve; k++) {
    const c = s.charCodeAt(k);
    if (!isDigit(c)) throw new InvalidHeader("Invalid Content-Length");
    n = n * 10 + (c - 48);
  }
  if (n > Number.MAX_SAFE_INTEGER) throw new RequestBodyTooLarge();
  return n;
}

/** `http://…` or `https://…` (scheme case-insensitive) with a non-empty authority. */
function isHttpAbsolute(s: string, start: number, end: number): boolean {
  const c0 = s.charCodeAt(start) | 0x20;
  if (c0 < 97 || c0 > 122) return false;
  let k = start + 1;
  while (k < end && SCHEME_CHARS[s.charCodeAt(k)] === 1) k++;
  if (k >= end || s.charCodeAt(k) !== 58 /* : */) return false;
  const scheme = s.substring(start, k).toLowerCase();
  if (scheme !== "http" && scheme !== "https") return false;
  if (s.charCodeAt(k + 1) !== 47 || s.charCodeAt(k + 2) !== 47) return false;
  return k + 3 < end && s.charCodeAt(k + 3) !== 47;
}
