/**
 * @module
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) at the start of a
 * connection's byte stream: an incremental, pure parser.
 *
 * - v1: one text line, at most 107 bytes with its CRLF:
 *   `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` (addresses validated for their family, ports
 *   0..65535, single spaces), or `PROXY UNKNOWN ...\r\n` (the rest of the line is ignored).
 * - v2: the 12-byte signature, version 2, command LOCAL or PROXY, then a 16-bit length and that
 *   many bytes. PROXY over STREAM with INET or INET6 gives a source address; UNSPEC and UNIX
 *   give none (the real peer is used, as the spec asks); DGRAM or an unknown family/transport
 *   byte is an error. LOCAL ignores the address block. TLVs are skipped. The header is at most
 *   16 + 65535 bytes (the length field's range).
 * - `auto` (Gunicorn's behaviour): a v2 signature or a line starting `PROXY ` is parsed as
 *   above; anything else is plain HTTP (`consumed: 0`).
 *
 * Errors are {@link InvalidProxyLine} (v1) and {@link InvalidProxyHeader} (v2, or no header
 * where the mode requires one), both 400.
 *
 * {@link ProxyHandshake} runs the parser over a connection's first bytes as they arrive, with the
 * allow list's verdict on the peer.
 */
import { ForbiddenProxyRequest, type HttpError, InvalidProxyHeader, InvalidProxyLine } from "./errors.ts";
// The module itself, not ../net/index.ts: that one also loads the raw-socket and systemd code.
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../net/ip.ts";

/** Which header a listener expects: exactly v1, exactly v2, or either (or none: plain HTTP). */
export type ProxyMode = "v1" | "v2" | "auto";

/** The client the proxy speaks for. */
export interface ProxySource {
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
}

export type ProxyParseResult =
  | { state: "need-more" }
  /**
   * `consumed` bytes are the header; `source` is null for v1 `UNKNOWN`, v2 `LOCAL` and v2
   * address families without an IP (the connection's own peer stands). In `auto` mode,
   * `consumed: 0` (with `source: null`) means the stream is plain HTTP with no header.
   */
  | { state: "done"; consumed: number; source: ProxySource | null }
  | { state: "error"; error: HttpError };

/** The longest v1 line, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** The longest v2 header: 16 fixed bytes and a 16-bit length. */
export const V2_MAX_LENGTH = 16 + 0xffff;

/** `\r\n\r\n\0\r\nQUIT\n`. */
export const V2_SIGNATURE = new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = new Uint8Array([0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]); // "PROXY "

const NEED_MORE: ProxyParseResult = Object.freeze({ state: "need-more" });
const PLAIN: ProxyParseResult = Object.freeze({ state: "done", consumed: 0, source: null });

const NO = 0;
const PARTIAL = 1;
const FULL = 2;

/** Whether `buf` starts with `sig` (FULL), is a proper prefix of it (PARTIAL), or neither (NO). */
function prefixState(buf: Uint8Array, sig: Uint8Array): number {
  const n = Math.min(buf.length, sig.length);
  for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return NO;
  return n === sig.length ? FULL : PARTIAL;
}

const v1Error = (message: string): ProxyParseResult => ({ state: "error", error: new InvalidProxyLine(message) });
const v2Error = (message: string): ProxyParseResult => ({ state: "error", error: new InvalidProxyHeader(message) });

/**
 * Parses the PROXY header at the start of `buf` (everything received on the connection so
 * far). Call again with more bytes while it answers `need-more`.
 */
export function parseProxyHeader(buf: Uint8Array, mode: ProxyMode): ProxyParseResult {
  if (mode === "v2") {
    const s = prefixState(buf, V2_SIGNATURE);
    if (s === NO) return v2Error("expected a PROXY protocol v2 header");
    return s === PARTIAL ? NEED_MORE : parseV2(buf);
  }
  if (mode === "v1") {
    const s = prefixState(buf, V1_PREFIX);
    if (s === NO) return v1Error("expected a PROXY protocol v1 line");
    return s === PARTIAL ? NEED_MORE : parseV1(buf);
  }
  const s2 = prefixState(buf, V2_SIGNATURE);
  if (s2 === FULL) return parseV2(buf);
  const s1 = prefixState(buf, V1_PREFIX);
  if (s1 === FULL) return parseV1(buf);
  if (s1 === PARTIAL || s2 === PARTIAL) return NEED_MORE;
  return PLAIN;
}

const PORT = /^\d{1,5}$/;

function parseV1(buf: Uint8Array): ProxyParseResult {
  const limit = Math.min(buf.length, V1_MAX_LENGTH);
  let lf = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buf[i]!;
    if (c === 0x0a) {
      lf = i;
      break;
    }
    // Printable US-ASCII, and CR only right before LF.
    if (c === 0x0d) {
      if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return v1Error("CR not followed by LF in the PROXY line");
      continue;
    }
    if (c < 0x20 || c > 0x7e) return v1Error("invalid byte in the PROXY line");
  }
  if (lf < 0) return buf.length >= V1_MAX_LENGTH ? v1Error(`PROXY line longer than ${V1_MAX_LENGTH} bytes`) : NEED_MORE;
  if (buf[lf - 1] !== 0x0d) return v1Error("PROXY line not terminated by CRLF");
  const consumed = lf + 1;
  let line = "";
  for (let i = 0; i < lf - 1; i++) line += String.fromCharCode(buf[i]!);
  const bits = line.split(" ");
  const proto = bits[1];
  if (proto === "UNKNOWN") return { state: "done", consumed, source: null };
  if (proto !== "TCP4" && proto !== "TCP6") return v1Error("PROXY protocol family not supported");
  if (bits.length !== 6) return v1Error("PROXY line does not have 6 fields");
  const [, , src, dst, sport, dport] = bits as [string, string, string, string, string, string];
  let address: string;
  if (proto === "TCP4") {
    if (parseIpv4(src) === null || parseIpv4(dst) === null) return v1Error("invalid IPv4 address in the PROXY line");
    address = src;
  } else {
    const s = parseIpv6(src);
    if (s === null || parseIpv6(dst) === null) return v1Error("invalid IPv6 address in the PROXY line");
    address = formatIpv6(s);
  }
  if (!PORT.test(sport) || !PORT.test(dport)) return v1Error("invalid port in the PROXY line");
  const port = Number(sport);
  if (port > 65535 || Number(dport) > 65535) return v1Error("invalid port in the PROXY line");
  return { state: "done", consumed, source: { address, port, family: proto === "TCP4" ? "IPv4" : "IPv6" } };
}

const CMD_LOCAL = 0x0;
const CMD_PROXY = 0x1;
const FAM_UNSPEC = 0x00;
const TCP_OVER_IPV4 = 0x11;
const TCP_OVER_IPV6 = 0x21;
const UNIX_STREAM = 0x31;

function parseV2(buf: Uint8Array): ProxyParseResult {
  if (buf.length < 13) return NEED_MORE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return v2Error("unsupported PROXY protocol version");
  const cmd = verCmd & 0x0f;
  if (cmd !== CMD_LOCAL && cmd !== CMD_PROXY) return v2Error("unsupported PROXY protocol v2 command");
  if (buf.length < 14) return NEED_MORE;
  const fam = buf[13]!;
  // LOCAL ignores the family (the spec: use the real connection endpoints).
  let need = 0;
  if (cmd === CMD_PROXY) {
    if (fam === TCP_OVER_IPV4) need = 12;
    else if (fam === TCP_OVER_IPV6) need = 36;
    else if (fam === UNIX_STREAM) need = 216;
    else if (fam !== FAM_UNSPEC) return v2Error("unsupported PROXY protocol v2 address family or transport");
  }
  if (buf.length < 16) return NEED_MORE;
  const len = (buf[14]! << 8) | buf[15]!;
  if (len < need) return v2Error("PROXY protocol v2 address block too short");
  const consumed = 16 + len;
  if (buf.length < consumed) return NEED_MORE;
  if (cmd === CMD_LOCAL) return { state: "done", consumed, source: null };
  if (fam === TCP_OVER_IPV4) return { state: "done", consumed, source: { address: formatIpv4(buf, 16), port: (buf[24]! << 8) | buf[25]!, family: "IPv4" } };
  if (fam === TCP_OVER_IPV6) return { state: "done", consumed, source: { address: formatIpv6(buf, 16), port: (buf[48]! << 8) | buf[49]!, family: "IPv6" } };
  return { state: "done", consumed, source: null };
}

/** What a connection does with the bytes it received while its PROXY header was expected. */
export type ProxyHandshakeResult =
  | { state: "need-more" }
  /** Answer with the error's status and close. */
  | { state: "refused"; error: HttpError }
  /** `source` stands for the peer (null: the real peer does); `rest` is the start of the HTTP stream. */
  | { state: "done"; source: ProxySource | null; rest: Uint8Array | null };

const HANDSHAKE_NEED_MORE: ProxyHandshakeResult = Object.freeze({ state: "need-more" });

/**
 * The PROXY header at the start of one connection, fed with its bytes as they arrive. A peer
 * outside the allow list gets a 403 for a header (in `auto` mode it may still speak plain HTTP);
 * it learns nothing more, not even whether its header was malformed.
 */
export class ProxyHandshake {
  /** The start of a header received so far. */
  private buf: Uint8Array | null = null;

  constructor(
    private readonly mode: ProxyMode,
    /** Whether the peer may send a header (unix-socket peers always may). */
    private readonly allowed: boolean,
  ) {}

  /** Whether part of a header has been received. */
  get partial(): boolean {
    return this.buf !== null;
  }

  /** Takes the next bytes of the connection; valid only during the call (a partial header is copied). */
  feed(chunk: Uint8Array): ProxyHandshakeResult {
    if (!this.allowed && this.mode !== "auto") return refused(new ForbiddenProxyRequest());
    const prev = this.buf;
    const buf = prev === null ? chunk : Buffer.concat([prev, chunk]);
    const r = parseProxyHeader(buf, this.mode);
    if (r.state === "need-more") {
      this.buf = prev === null ? Buffer.from(chunk) : buf;
      return HANDSHAKE_NEED_MORE;
    }
    this.buf = null;
    // In auto mode an error means a header was recognized: a refused peer learns only that.
    if (r.state === "error") return refused(this.allowed ? r.error : new ForbiddenProxyRequest());
    if (!this.allowed && r.consumed > 0) return refused(new ForbiddenProxyRequest());
    const rest = r.consumed === buf.length ? null : r.consumed === 0 ? buf : buf.subarray(r.consumed);
    return { state: "done", source: r.source, rest };
  }
}

function refused(error: HttpError): ProxyHandshakeResult {
  return { state: "refused", error };
}
