/**
 * @module
 * The trusted-proxy policy: Gunicorn's `forwarded_allow_ips`, `secure_scheme_headers`,
 * `forwarder_headers` and `header_map`, as one set of decisions that both engines apply (the
 * engine while it builds the app's Request, reuse-port mode in the worker after Bun.serve parsed
 * the head: src/workers/reuse-port-forwarding.ts), and that the app's helpers read
 * (src/forwarded.ts). Gunicorn's rules (`gunicorn/http/message.py`, `HeaderPolicy`):
 *
 * - a peer is trusted when its address is in `forwarded_allow_ips` (addresses, CIDR networks,
 *   `*`); a unix-socket peer (no address) always is;
 * - from a trusted peer, each `secure_scheme_headers` header present gives `https` when its value
 *   is exactly the configured one (case-sensitive), `http` otherwise; two that disagree are a
 *   400 (Gunicorn's InvalidSchemeHeaders); none leaves the listener's scheme. An untrusted
 *   peer's scheme headers are ignored;
 * - a header name with `_` is kept when a trusted peer sends one of `forwarder_headers`;
 *   otherwise `header_map` decides: `drop` (the app never sees it), `refuse` (400) or
 *   `dangerous` (kept). Such names never frame a request (`Content_Length`, `Transfer_Encoding`
 *   are not `Content-Length`, `Transfer-Encoding` to either parser), as in Gunicorn 26.
 *
 * Header names are compared without regard to case (Gunicorn upper-cases both sides).
 * A repeated header is judged by its combined value (`a, b`), the one value Bun's `Headers`
 * give: two `X-Forwarded-Proto: https` lines are not `https`. No imports but the IP matcher.
 */
import { ipMatcher } from "../net/ip.ts";

/** `header_map`: what happens to a header name with `_`. */
export type HeaderMap = "drop" | "refuse" | "dangerous";

/** The policy's settings, named after Gunicorn's (camel-cased); every one has Gunicorn's default. */
export interface ForwardingOptions {
  /**
   * Peers whose forwarding headers are believed: IPv4/IPv6 addresses, CIDR networks, or `"*"`.
   * Unix-socket peers always are.
   * @default ["127.0.0.1", "::1"]
   */
  forwardedAllowIps?: readonly string[];
  /**
   * Header name → the value that means HTTPS (names in any case; values compared exactly).
   * @default {"X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}
   */
  secureSchemeHeaders?: Readonly<Record<string, string>>;
  /**
   * Header names with `_` a trusted peer may send whatever `headerMap` says (`"*"`: any).
   * @default ["SCRIPT_NAME", "PATH_INFO"]
   */
  forwarderHeaders?: readonly string[];
  /** What to do with other header names containing `_`. @default "drop" */
  headerMap?: HeaderMap;
}

/** Gunicorn's default `secure_scheme_headers`. */
export const DEFAULT_SECURE_SCHEME_HEADERS: Readonly<Record<string, string>> = {
  "X-FORWARDED-PROTOCOL": "ssl",
  "X-FORWARDED-PROTO": "https",
  "X-FORWARDED-SSL": "on",
};

/** {@link ForwardingPolicy.scheme}: no scheme header, the listener's scheme stands. */
export const SCHEME_NONE = 0;
/** {@link ForwardingPolicy.scheme}: the headers say HTTPS. */
export const SCHEME_HTTPS = 1;
/** {@link ForwardingPolicy.scheme}: the headers say plain HTTP. */
export const SCHEME_HTTP = 2;
/** {@link ForwardingPolicy.scheme}: the headers contradict each other (400). */
export const SCHEME_CONFLICT = 3;

/** {@link ForwardingPolicy.underscoreName}: the app gets the header. */
export const NAME_KEEP = 0;
/** {@link ForwardingPolicy.underscoreName}: the header is removed. */
export const NAME_DROP = 1;
/** {@link ForwardingPolicy.underscoreName}: the request is a 400. */
export const NAME_REFUSE = 2;

export class ForwardingPolicy {
  readonly headerMap: HeaderMap;
  /** `forwarded_allow_ips` is `*`: every peer is trusted, no address needs looking up. */
  readonly trustsEveryone: boolean;
  /** The scheme headers' names, lower-cased, in the configured order. */
  readonly schemeNames: readonly string[];
  /** `schemeNames[i]`'s HTTPS value. */
  private readonly schemeValues: readonly string[];
  /** Lower-cased names that are scheme headers, for a pass over a request's names. */
  readonly schemeNameSet: ReadonlySet<string>;
  /** Bit `n` set: some scheme header's name is `n` characters long (`n` < 32), else bit 31. */
  private readonly schemeLengths: number;
  private readonly forwarders: ReadonlySet<string>;
  private readonly anyForwarder: boolean;
  private readonly allowed: (address: string) => boolean;

  constructor(o: ForwardingOptions = {}) {
    const list = o.forwardedAllowIps ?? ["127.0.0.1", "::1"];
    this.trustsEveryone = list.includes("*");
    this.allowed = ipMatcher(list);
    const secure = o.secureSchemeHeaders ?? DEFAULT_SECURE_SCHEME_HEADERS;
    const names: string[] = [];
    const values: string[] = [];
    let lengths = 0;
    for (const [name, value] of Object.entries(secure)) {
      const lower = name.toLowerCase();
      if (names.includes(lower)) continue;
      names.push(lower);
      values.push(String(value));
      lengths |= 1 << Math.min(lower.length, 31);
    }
    this.schemeNames = names;
    this.schemeValues = values;
    this.schemeNameSet = new Set(names);
    this.schemeLengths = lengths;
    const fw = (o.forwarderHeaders ?? ["SCRIPT_NAME", "PATH_INFO"]).map((n) => n.trim().toLowerCase());
    this.anyForwarder = fw.includes("*");
    this.forwarders = new Set(fw);
    this.headerMap = o.headerMap ?? "drop";
  }

  /** Whether a peer may set forwarding headers: `address` "" (a unix socket) always may. */
  trusts(address: string): boolean {
    return address === "" || this.allowed(address);
  }

  /** Whether an address (a peer's, or one of `X-Forwarded-For`) is in `forwarded_allow_ips`. */
  allows(address: string): boolean {
    return this.allowed(address);
  }

  /** Whether `name` (any case) might be a scheme header: a cheap length test before comparing. */
  maybeSchemeName(name: string): boolean {
    return this.schemeNames.length > 0 && (this.schemeLengths & (1 << Math.min(name.length, 31))) !== 0;
  }

  /**
   * The scheme a trusted peer's headers give ({@link SCHEME_NONE}, {@link SCHEME_HTTPS},
   * {@link SCHEME_HTTP} or {@link SCHEME_CONFLICT}); `get` returns a header's (combined) value
   * by its lower-cased name, or null.
   */
  scheme(get: (lowerName: string) => string | null): number {
    let result = SCHEME_NONE;
    const names = this.schemeNames;
    for (let i = 0; i < names.length; i++) {
      const v = get(names[i]!);
      if (v === null) continue;
      const s = v === this.schemeValues[i] ? SCHEME_HTTPS : SCHEME_HTTP;
      if (result === SCHEME_NONE) result = s;
      else if (result !== s) return SCHEME_CONFLICT;
    }
    return result;
  }

  /**
   * What happens to a header whose name (lower-cased) contains `_`: {@link NAME_KEEP},
   * {@link NAME_DROP} or {@link NAME_REFUSE}. `trusted`: the peer is a trusted forwarder.
   */
  underscoreName(lowerName: string, trusted: boolean): number {
    if (trusted && (this.anyForwarder || this.forwarders.has(lowerName))) return NAME_KEEP;
    const m = this.headerMap;
    return m === "dangerous" ? NAME_KEEP : m === "drop" ? NAME_DROP : NAME_REFUSE;
  }

  /** Whether a trusted peer may send `lowerName` (with `_`) whatever `header_map` says. */
  isForwarderHeader(lowerName: string): boolean {
    return this.anyForwarder || this.forwarders.has(lowerName);
  }

  /**
   * Applies the policy to a parsed head's flat `[name, value, ...]` list (the engine's): removes
   * the names `header_map` drops, in place. Returns {@link FIELDS_REFUSE} for a 400, else the
   * scheme ({@link SCHEME_NONE} for an untrusted peer). `underscore`: some name has a `_` (the
   * parser noticed); nothing is looked at for an untrusted peer without one.
   */
  applyToFields(fields: string[], trusted: boolean, underscore: boolean): number {
    let scheme = SCHEME_NONE;
    if (trusted && this.schemeNames.length > 0) {
      for (let i = 0; i < fields.length; i += 2) {
        const name = fields[i]!;
        if (this.maybeSchemeName(name) && this.schemeNameSet.has(name.toLowerCase())) {
          scheme = this.scheme((lower) => combinedValue(fields, lower));
          if (scheme === SCHEME_CONFLICT) return FIELDS_REFUSE;
          break;
        }
      }
    }
    if (underscore) {
      let w = 0;
      for (let i = 0; i < fields.length; i += 2) {
        const name = fields[i]!;
        if (name.includes("_")) {
          const action = this.underscoreName(name.toLowerCase(), trusted);
          if (action === NAME_REFUSE) return FIELDS_REFUSE;
          if (action === NAME_DROP) continue;
        }
        fields[w++] = name;
        fields[w++] = fields[i + 1]!;
      }
      fields.length = w;
    }
    return scheme;
  }
}

/** {@link ForwardingPolicy.applyToFields}: the request is a 400. */
export const FIELDS_REFUSE = -1;

/** The values of every field named `lower` (any case) joined with `, `, as `Headers.get` gives them; null when absent. */
function combinedValue(fields: readonly string[], lower: string): string | null {
  let out: string | null = null;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === lower.length && name.toLowerCase() === lower) out = out === null ? fields[i + 1]! : `${out}, ${fields[i + 1]!}`;
  }
  return out;
}

/**
 * The registry symbol under which a server (the engine's, or Bun.serve's in a bunicorn worker)
 * carries its {@link ForwardingView}, for the app's helpers (src/forwarded.ts). A registry symbol,
 * so that an app importing bunicorn from another copy of the package still finds it.
 */
export const FORWARDING_VIEW: symbol = Symbol.for("bunicorn.forwarding");

/** What a server tells the app's helpers about its requests' forwarders. */
export interface ForwardingView {
  readonly policy: ForwardingPolicy;
  /** Whether `req` came from a trusted forwarder; false for a request the server does not know. */
  trusted(req: Request): boolean;
}

/** Gives `server` its {@link ForwardingView} (once; not enumerable). */
export function attachForwardingView(server: object, view: ForwardingView): void {
  Object.defineProperty(server, FORWARDING_VIEW, { value: view, configurable: true });
}

/** `server`'s {@link ForwardingView}, or null for a server that has none (not bunicorn's). */
export function forwardingViewOf(server: unknown): ForwardingView | null {
  if (server === null || typeof server !== "object") return null;
  return ((server as Record<symbol, ForwardingView | undefined>)[FORWARDING_VIEW] as ForwardingView | undefined) ?? null;
}
