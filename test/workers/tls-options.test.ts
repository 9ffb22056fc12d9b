// Bun's TLS options from the SSL settings and the ssl_context hook (src/workers/tls-options.ts),
// and http_protocols on Bun.serve and per listening mode (src/workers/http-protocols.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Settings } from "../../src/config/registry.ts";
import { httpProtocols } from "../../src/config/validators.ts";
import { protocolsError, serveProtocolOptions } from "../../src/workers/http-protocols.ts";
import { defaultTlsOptions, minTlsVersion, resolveTlsOptions, tlsEnabled } from "../../src/workers/tls-options.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-tls-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const CERT = file("cert.pem", "CERT\n");
const KEY = file("key.pem", "KEY\n");
const CA = file("ca.pem", "CA\n");
const BOTH = file("both.pem", "CERT\nKEY\n");

function settings(over: Partial<Settings> = {}): Settings {
  return { certfile: CERT, keyfile: KEY, ca_certs: null, cert_reqs: 0, ciphers: null, ssl_version: "TLS", ssl_context: null, ...over } as Settings;
}

describe("defaultTlsOptions", () => {
  test("certfile and keyfile as text; nothing else by default", () => {
    expect(defaultTlsOptions(settings())).toEqual({ cert: "CERT\n", key: "KEY\n" });
  });

  test("without keyfile the key is read from certfile", () => {
    expect(defaultTlsOptions(settings({ certfile: BOTH, keyfile: null }))).toEqual({ cert: "CERT\nKEY\n", key: "CERT\nKEY\n" });
  });

  test("ca_certs, cert_reqs, ciphers, ssl_version", () => {
    expect(defaultTlsOptions(settings({ ca_certs: CA, cert_reqs: 1, ciphers: "ECDHE-RSA-AES128-GCM-SHA256", ssl_version: "TLSv1_1" }))).toEqual({
      cert: "CERT\n",
      key: "KEY\n",
      ca: "CA\n",
      requestCert: true,
      rejectUnauthorized: false,
      ciphers: "ECDHE-RSA-AES128-GCM-SHA256",
      minVersion: 0x0302,
    });
    expect(defaultTlsOptions(settings({ cert_reqs: 2 }))).toMatchObject({ requestCert: true, rejectUnauthorized: true });
  });

  test("ssl_version: the TLS versions are minimums, the rest Bun's default", () => {
    expect([minTlsVersion("TLSv1"), minTlsVersion("TLSv1_1"), minTlsVersion("TLSv1_2")]).toEqual([0x0301, 0x0302, 0x0303]);
    for (const v of ["TLS", "TLS_SERVER", "SSLv23", "2"]) expect(minTlsVersion(v)).toBeNull();
  });

  test("a file that cannot be read names its setting", () => {
    expect(() => defaultTlsOptions(settings({ keyfile: join(dir, "gone.pem") }))).toThrow(/^keyfile: cannot read/);
  });
});

describe("resolveTlsOptions and ssl_context", () => {
  test("no certfile and no keyfile: plain HTTP", async () => {
    expect(tlsEnabled({ certfile: null, keyfile: null })).toBe(false);
    expect(await resolveTlsOptions(settings({ certfile: null, keyfile: null }))).toBeNull();
  });

  test("the hook gets the settings and the default factory; its (async) result is served", async () => {
    const cfg = settings({
      ssl_context: (async (conf: Settings, factory: () => Record<string, unknown>) => ({ ...factory(), minVersion: 0x0304, seen: conf.certfile })) as never,
    });
    expect(await resolveTlsOptions(cfg)).toEqual({ cert: "CERT\n", key: "KEY\n", minVersion: 0x0304, seen: CERT } as never);
  });

  test("a hook that returns no object, or throws, fails with the hook's name", async () => {
    await expect(resolveTlsOptions(settings({ ssl_context: (() => null) as never }))).rejects.toThrow(/^ssl_context must return/);
    await expect(
      resolveTlsOptions(
        settings({
          ssl_context: (() => {
            throw new Error("nope");
          }) as never,
        }),
      ),
    ).rejects.toThrow("ssl_context hook failed: nope");
  });
});

describe("http_protocols", () => {
  test("the validator: any case, a list or comma-separated, empty is h1, no repeats, no unknown names", () => {
    expect(httpProtocols("H2, h1", "http_protocols")).toEqual(["h2", "h1"]);
    expect(httpProtocols(["h3", "h2"], "http_protocols")).toEqual(["h3", "h2"]);
    expect(httpProtocols("", "http_protocols")).toEqual(["h1"]);
    expect(() => httpProtocols("h1,h1", "http_protocols")).toThrow(/listed twice/);
    expect(() => httpProtocols("h1,spdy", "http_protocols")).toThrow(/"spdy" is not one of h1, h2, h3/);
  });

  test("Bun.serve's switches: nothing for h1 alone", () => {
    expect(serveProtocolOptions(["h1"])).toEqual({});
    expect(serveProtocolOptions(["h2", "h1"])).toEqual({ http2: true });
    expect(serveProtocolOptions(["h2"])).toEqual({ http1: false, http2: true });
    expect(serveProtocolOptions(["h3", "h2", "h1"])).toEqual({ http2: true, http3: true });
  });

  test("what each mode refuses", () => {
    const reuse = new Set(["reuse-port"] as const);
    const shared = new Set(["shared-socket"] as const);
    const both = new Set(["reuse-port", "shared-socket"] as const);
    expect(protocolsError(["h2", "h1"], reuse, false)).toBeNull();
    expect(protocolsError(["h3", "h1"], reuse, true)).toBeNull();
    expect(protocolsError(["h3"], reuse, false)).toMatch(/^http_protocols: h3 .* needs TLS/);
    expect(protocolsError(["h1"], shared, true)).toBeNull();
    expect(protocolsError(["h2", "h1"], both, true)).toMatch(/^http_protocols: h2 cannot be served in shared-socket mode/);
    expect(protocolsError(["h2", "h3"], shared, true)).toMatch(/^http_protocols: h2, h3 cannot be served in shared-socket mode/);
  });
});
