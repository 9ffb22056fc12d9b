/**
 * @module
 * The trusted-proxy policy (src/http/forwarding.ts: `forwarded_allow_ips`,
 * `secure_scheme_headers`, `forwarder_headers`, `header_map`) in reuse-port mode, where Bun.serve
 * has parsed the head and passes every header name through (`X-A_B` included). Before the app
 * runs, the worker:
 *
 * - looks at the names once, in the head the fetch wrapper read (`headers.toJSON()`: the names as
 *   an object's keys, a `for...in`; none with `header_map = dangerous`), for names with `_`, and
 *   looks up the scheme headers there by name;
 * - for a scheme header, asks whether the peer is trusted (`server.requestIP`, a few µs, only
 *   then) and gives `req.url` the scheme the headers say, as an own property of the request
 *   (Bun's Request keeps its URL in native code: `req.url`, `new URL(req.url)`, `new Request(req)`
 *   and frameworks see it; `req.clone()` copies the native URL and does not), or answers 400
 *   for contradicting headers;
 * - deletes the names `header_map` drops (`req.headers` is mutable), or answers 400 (`refuse`).
 *
 * The 400 is plain text with `Connection: close`, logged like any response, as the engine's is.
 */
import type { Server } from "bun";
import type { Settings } from "../config/registry.ts";
import { attachForwardingView, ForwardingPolicy, NAME_DROP, NAME_REFUSE, SCHEME_CONFLICT, SCHEME_HTTPS, SCHEME_NONE } from "../http/forwarding.ts";
import type { Head } from "./reuse-port-checks.ts";

/** A request refused by the policy: the engine's plain 400. */
function badRequest(): Response {
  return new Response("Bad Request\n", { status: 400, headers: { "content-type": "text/plain", connection: "close" } });
}

const policies = new WeakMap<object, ForwardingPolicy>();

/** The worker's policy, built once per settings object. */
export function forwardingPolicy(cfg: Readonly<Settings>): ForwardingPolicy {
  let p = policies.get(cfg);
  if (p === undefined) {
    p = new ForwardingPolicy({
      forwardedAllowIps: cfg.forwarded_allow_ips,
      secureSchemeHeaders: cfg.secure_scheme_headers,
      forwarderHeaders: cfg.forwarder_headers,
      headerMap: cfg.header_map,
    });
    policies.set(cfg, p);
  }
  return p;
}

/** Whether `req` came from a trusted forwarder (Bun.serve never serves a unix socket in bunicorn: no address is no trust). */
function trustedPeer(policy: ForwardingPolicy, req: Request, server: Server<unknown>): boolean {
  if (policy.trustsEveryone) return true;
  const ip = server.requestIP(req);
  return ip !== null && policy.allows(ip.address);
}

/**
 * Reuse-port mode's check before the app: null when the request goes on (its URL's scheme and
 * its headers adjusted as the policy says), or the 400 to send.
 */
export function reusePortForwarding(cfg: Readonly<Settings>): (req: Request, server: Server<unknown>, h: Headers, head: Head) => Response | null {
  const policy = forwardingPolicy(cfg);
  const scanNames = policy.headerMap !== "dangerous";
  // Scheme headers are looked up in the head by name; a name `Object.prototype` has too (none of
  // the defaults) is asked of the Headers instead.
  const schemeNames = policy.schemeNames.filter((n) => !(n in Object.prototype));
  const oddSchemeNames = policy.schemeNames.filter((n) => n in Object.prototype);
  return (req, server, h, head) => {
    let scheme = false;
    let underscore: string[] | null = null;
    if (scanNames) {
      for (const name in head) if (name.includes("_")) (underscore ??= []).push(name);
    }
    for (let i = 0; i < schemeNames.length; i++) {
      if (head[schemeNames[i]!] !== undefined) {
        scheme = true;
        break;
      }
    }
    if (!scheme && oddSchemeNames.length > 0) scheme = oddSchemeNames.some((n) => h.has(n));
    if (!scheme && underscore === null) return null;
    let trusted = -1;
    if (scheme && (trusted = trustedPeer(policy, req, server) ? 1 : 0) === 1) {
      const s = policy.scheme((name) => h.get(name));
      if (s === SCHEME_CONFLICT) return badRequest();
      if (s !== SCHEME_NONE) setScheme(req, s === SCHEME_HTTPS);
    }
    if (underscore !== null) {
      for (const name of underscore) {
        if (trusted < 0 && policy.isForwarderHeader(name)) trusted = trustedPeer(policy, req, server) ? 1 : 0;
        const action = policy.underscoreName(name, trusted === 1);
        if (action === NAME_REFUSE) return badRequest();
        if (action === NAME_DROP) h.delete(name);
      }
    }
    return null;
  };
}

/** Gives `req.url` the scheme `https` (or `http`) unless it has it already. */
function setScheme(req: Request, https: boolean): void {
  const url = req.url;
  const isHttps = url.charCodeAt(4) === 115; /* "https:" */
  if (isHttps === https) return;
  const rest = url.substring(isHttps ? 5 : 4);
  Object.defineProperty(req, "url", { value: (https ? "https" : "http") + rest, enumerable: true, configurable: true });
}

/** Gives Bun.serve's `server` the view the app's helpers read (src/forwarded.ts). */
export function attachReusePortForwarding(server: Server<unknown>, cfg: Readonly<Settings>): void {
  const policy = forwardingPolicy(cfg);
  attachForwardingView(server, { policy, trusted: (req) => trustedPeer(policy, req, server) });
}
