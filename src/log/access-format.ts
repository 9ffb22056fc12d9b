/**
 * @module
 * Access-log lines from Gunicorn's `access_log_format` atoms (`%(h)s %(l)s %(u)s %(t)s "%(r)s"
 * %(s)s %(b)s "%(f)s" "%(a)s"` by default), compiled once into a function. Values are escaped so
 * a header cannot forge a line: `"` and `\` are backslash-escaped, control characters become
 * `\xHH`. The format `json` writes one JSON object per line instead (every value escaped by
 * `JSON.stringify`), which Gunicorn users have long asked for.
 */
import { formatOffset, localTime } from "./local-time.ts";

/** What the access log knows about one finished request. */
export interface AccessRecord {
  remoteAddress: string;
  method: string;
  /** The request target as sent: path plus `?query`. */
  target: string;
  /** `HTTP/1.1` */
  protocol: string;
  status: number;
  /** Body bytes sent, or null when unknown. */
  bytes: number | null;
  /** Request duration in milliseconds (fractional). */
  durationMs: number;
  /** Completion time (ms since the epoch). */
  time: number;
  requestHeader(name: string): string | null;
  responseHeader(name: string): string | null;
}

type Atom = (r: AccessRecord) => string;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
let clfSecond = -1;
let clfCache = "";

/** `[10/Oct/2000:13:55:36 -0700]`, cached per second. */
function clfTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec === clfSecond) return clfCache;
  const t = localTime(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  clfCache = `[${p(t.day)}/${MONTHS[t.month - 1]}/${t.year}:${p(t.hours)}:${p(t.minutes)}:${p(t.seconds)} ${formatOffset(t.offset)}]`;
  clfSecond = sec;
  return clfCache;
}

const UNSAFE = /["\\\x00-\x1f\x7f]/;

/** Escapes a value for a quoted log field. */
function escapeValue(s: string): string {
  if (!UNSAFE.test(s)) return s;
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

function path(r: AccessRecord): string {
  const q = r.target.indexOf("?");
  return q < 0 ? r.target : r.target.slice(0, q);
}
function query(r: AccessRecord): string {
  const q = r.target.indexOf("?");
  return q < 0 ? "" : r.target.slice(q + 1);
}
function basicUser(r: AccessRecord): string {
  const auth = r.requestHeader("authorization");
  if (auth === null) return "-";
  if (!auth || !/^basic /i.test(auth)) return "-";
  try {
    const decoded = atob(auth.slice(6).trim());
    const i = decoded.indexOf(":");
    return i < 0 ? "-" : decoded.slice(0, i) || "-";
  } catch {
    return "-";
  }
}
const dash = (s: string | null) => (s === null || s === "" ? "-" : s);

/** The atoms of the spec, by name. */
const ATOMS: Record<string, Atom> = {
  h: (r) => r.remoteAddress || "-",
  l: () => "-",
  u: basicUser,
  t: (r) => clfTime(r.time),
  r: (r) => `${r.method} ${r.target} ${r.protocol}`,
  m: (r) => r.method,
  U: path,
  q: query,
  H: (r) => r.protocol,
  s: (r) => String(r.status),
  B: (r) => String(r.bytes ?? 0),
  b: (r) => (r.bytes === null ? "-" : String(r.bytes)),
  f: (r) => dash(r.requestHeader("referer")),
  a: (r) => dash(r.requestHeader("user-agent")),
  T: (r) => String(Math.floor(r.durationMs / 1000)),
  M: (r) => String(Math.floor(r.durationMs)),
  D: (r) => String(Math.floor(r.durationMs * 1000)),
  L: (r) => (r.durationMs / 1000).toFixed(6),
  p: () => `<${process.pid}>`,
};

function varAtom(name: string): Atom | null {
  const m = /^\{([^}]*)\}([ioe])$/.exec(name);
  if (!m) return null;
  const key = m[1]!.toLowerCase();
  if (m[2] === "i") return (r) => dash(r.requestHeader(key));
  if (m[2] === "o") return (r) => dash(r.responseHeader(key));
  return () => dash(process.env[key] ?? process.env[key.toUpperCase()] ?? null);
}

/** Compiles a Gunicorn access-log format (or `json`) into a line formatter. */
export function compileAccessFormat(format: string): (r: AccessRecord) => string {
  if (format.trim().toLowerCase() === "json") return jsonLine;
  const parts: (string | Atom)[] = [];
  const re = /%\(([^)]*)\)s|%%/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    parts.push(format.slice(last, m.index));
    if (m[0] === "%%") parts.push("%");
    else {
      const name = m[1]!;
      const atom = ATOMS[name] ?? varAtom(name);
      // Unknown atoms render as "-", like Gunicorn's SafeAtoms.
      parts.push(atom ?? (() => "-"));
    }
    last = re.lastIndex;
  }
  parts.push(format.slice(last));
  const compiled = parts.filter((p) => p !== "");
  // One straight-line concatenation, built once: faster per line than looping over the parts.
  const atoms = compiled.filter((p): p is Atom => typeof p !== "string");
  const body = compiled
    .map((p) => (typeof p === "string" ? JSON.stringify(p) : `e(a[${atoms.indexOf(p)}](r))`))
    .join(" + ");
  return new Function("a", "e", `return function accessLine(r) { return ${body || '""'}; };`)(atoms, escapeValue) as (r: AccessRecord) => string;
}

function jsonLine(r: AccessRecord): string {
  return JSON.stringify({
    time: new Date(r.time).toISOString(),
    remote_addr: r.remoteAddress || null,
    method: r.method,
    path: path(r),
    query: query(r),
    protocol: r.protocol,
    status: r.status,
    bytes: r.bytes,
    duration_ms: Math.round(r.durationMs * 1000) / 1000,
    referer: r.requestHeader("referer"),
    user_agent: r.requestHeader("user-agent"),
    user: basicUser(r) === "-" ? null : basicUser(r),
    pid: process.pid,
  });
}
