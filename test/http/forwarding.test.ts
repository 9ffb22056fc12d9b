// The trusted-proxy policy (src/http/forwarding.ts) on its own: Gunicorn's table of
// forwarded_allow_ips × secure_scheme_headers, header_map, forwarder_headers.
import { describe, expect, test } from "bun:test";
import { FIELDS_REFUSE, ForwardingPolicy, SCHEME_CONFLICT, SCHEME_HTTP, SCHEME_HTTPS, SCHEME_NONE } from "../../src/http/forwarding.ts";

const getter = (h: Record<string, string>) => (name: string) => h[name] ?? null;

describe("trust", () => {
  test("default: loopback only; a unix peer (no address) always", () => {
    const p = new ForwardingPolicy();
    expect(["127.0.0.1", "::1", "::ffff:127.0.0.1", "", "134.213.44.18", "10.0.0.1"].map((a) => p.trusts(a))).toEqual([true, true, true, true, false, false]);
  });

  test("addresses, CIDR networks and *", () => {
    const p = new ForwardingPolicy({ forwardedAllowIps: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"] });
    expect(["10.1.2.3", "2001:db8::5", "192.0.2.1", "192.0.2.2", "127.0.0.1"].map((a) => p.trusts(a))).toEqual([true, true, true, false, false]);
    const all = new ForwardingPolicy({ forwardedAllowIps: ["*"] });
    expect(all.trustsEveryone && all.trusts("134.213.44.18")).toBe(true);
  });
});

describe("scheme (Gunicorn's table, default secure_scheme_headers)", () => {
  const p = new ForwardingPolicy();
  test("none, one matching, one not matching, contradicting", () => {
    expect(p.scheme(getter({}))).toBe(SCHEME_NONE);
    expect(p.scheme(getter({ "x-forwarded-proto": "https" }))).toBe(SCHEME_HTTPS);
    expect(p.scheme(getter({ "x-forwarded-ssl": "on" }))).toBe(SCHEME_HTTPS);
    expect(p.scheme(getter({ "x-forwarded-protocol": "ssl" }))).toBe(SCHEME_HTTPS);
    expect(p.scheme(getter({ "x-forwarded-proto": "http" }))).toBe(SCHEME_HTTP);
    expect(p.scheme(getter({ "x-forwarded-ssl": "on", "x-forwarded-proto": "http" }))).toBe(SCHEME_CONFLICT);
    expect(p.scheme(getter({ "x-forwarded-ssl": "on", "x-forwarded-proto": "https", "x-forwarded-protocol": "ssl" }))).toBe(SCHEME_HTTPS);
  });

  test("values are compared exactly; names in any case", () => {
    expect(p.scheme(getter({ "x-forwarded-proto": "HTTPS" }))).toBe(SCHEME_HTTP);
    expect(p.scheme(getter({ "x-forwarded-proto": " https" }))).toBe(SCHEME_HTTP);
    const custom = new ForwardingPolicy({ secureSchemeHeaders: { "X-Scheme": "https", "front-end-https": "on" } });
    expect(custom.schemeNames).toEqual(["x-scheme", "front-end-https"]);
    expect(custom.scheme(getter({ "front-end-https": "on" }))).toBe(SCHEME_HTTPS);
    expect(custom.scheme(getter({ "x-forwarded-proto": "https" }))).toBe(SCHEME_NONE);
  });

  test("no scheme headers configured: never a scheme", () => {
    const none = new ForwardingPolicy({ secureSchemeHeaders: {} });
    expect(none.scheme(getter({ "x-forwarded-proto": "https" }))).toBe(SCHEME_NONE);
    expect(none.maybeSchemeName("x-forwarded-proto")).toBe(false);
  });
});

describe("header names with _", () => {
  test("drop, refuse, dangerous; a trusted forwarder's forwarder_headers always pass", () => {
    for (const [map, untrusted] of [
      ["drop", 1],
      ["refuse", 2],
      ["dangerous", 0],
    ] as const) {
      const p = new ForwardingPolicy({ headerMap: map });
      expect([map, p.underscoreName("x_a", false), p.underscoreName("x_a", true), p.underscoreName("script_name", false), p.underscoreName("script_name", true), p.underscoreName("path_info", true)]).toEqual([
        map,
        untrusted,
        untrusted,
        untrusted,
        0,
        0,
      ]);
    }
  });

  test("forwarder_headers in any case, and *", () => {
    expect(new ForwardingPolicy({ forwarderHeaders: ["remote_user"] }).underscoreName("remote_user", true)).toBe(0);
    expect(new ForwardingPolicy({ forwarderHeaders: ["REMOTE_USER"] }).underscoreName("script_name", true)).toBe(1);
    expect(new ForwardingPolicy({ forwarderHeaders: ["*"] }).underscoreName("anything_at_all", true)).toBe(0);
  });
});

describe("applyToFields (the engine's flat list)", () => {
  test("drops names with _ in place and keeps the order of the rest", () => {
    const p = new ForwardingPolicy();
    const f = ["Host", "x", "X-A_B", "1", "X-A-B", "2", "Content_Length", "-1E23", "SCRIPT_NAME", "/app"];
    expect(p.applyToFields(f, false, true)).toBe(SCHEME_NONE);
    expect(f).toEqual(["Host", "x", "X-A-B", "2"]);
    const g = ["Host", "x", "X-A_B", "1", "SCRIPT_NAME", "/app"];
    expect(p.applyToFields(g, true, true)).toBe(SCHEME_NONE);
    expect(g).toEqual(["Host", "x", "SCRIPT_NAME", "/app"]);
  });

  test("refuse: a 400", () => {
    const p = new ForwardingPolicy({ headerMap: "refuse" });
    expect(p.applyToFields(["Host", "x", "Transfer_Encoding", "chunked"], true, true)).toBe(FIELDS_REFUSE);
    expect(p.applyToFields(["Host", "x", "SCRIPT_NAME", "/app"], true, true)).toBe(SCHEME_NONE);
  });

  test("the scheme only from a trusted peer; a repeated header is judged by its combined value", () => {
    const p = new ForwardingPolicy();
    expect(p.applyToFields(["X-Forwarded-Proto", "https"], true, false)).toBe(SCHEME_HTTPS);
    expect(p.applyToFields(["X-Forwarded-Proto", "https"], false, false)).toBe(SCHEME_NONE);
    expect(p.applyToFields(["X-FORWARDED-SSL", "on", "x-forwarded-proto", "http"], true, false)).toBe(FIELDS_REFUSE);
    // Bun's Headers give "https, https" for two lines: not the configured value.
    expect(p.applyToFields(["X-Forwarded-Proto", "https", "X-Forwarded-Proto", "https"], true, false)).toBe(SCHEME_HTTP);
    // accept-encoding has a scheme header's length (15) but is not one.
    expect(p.applyToFields(["Accept-Encoding", "gzip"], true, false)).toBe(SCHEME_NONE);
  });
});
